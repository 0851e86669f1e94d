"""``theano.tensor.slinalg``: linear algebra Theano computed with SciPy (symgraph core ops;
the triangular solves and ``expm`` need SciPy)."""
from symgraph.ops.nlinalg import (Cholesky, Eigh as Eigvalsh, Expm, Solve,  # noqa: F401
                                  cholesky, eigvalsh, expm, kron, solve, solve_lower_triangular,
                                  solve_symmetric, solve_upper_triangular)

MATRIX_STRUCTURES = Solve.STRUCTURES
CholeskyGrad = EigvalshGrad = ExpmGrad = None
del CholeskyGrad, EigvalshGrad, ExpmGrad
imported_scipy = True


from symgraph.graph import Apply  # noqa: E402,F401
from symgraph.op import Op  # noqa: E402,F401
from symgraph.ops.variable import as_tensor_variable  # noqa: E402,F401
