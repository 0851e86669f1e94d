"""The differential cases: small Theano programs generated from tables, run under Theano 1.0.5
and under symgraph (``differential_runner.py``), whose results must agree to 1e-6 relative
(or raise the same kind of exception). Each case is ``(name, code)``; see the runner for the
names the code may use."""

V = "x = T.dvector('x'); xv = rng.uniform({lo}, {hi}, 7)\n"
M = "x = T.dmatrix('x'); xv = rng.uniform({lo}, {hi}, (3, 4))\n"

UNARY = [
    # function, low, high
    ("abs_", -2, 2), ("exp", -2, 2), ("log", 0.1, 3), ("sqrt", 0.1, 3), ("tanh", -2, 2),
    ("sin", -3, 3), ("cos", -3, 3), ("tan", -1, 1), ("arcsin", -0.9, 0.9),
    ("arccos", -0.9, 0.9), ("arctan", -3, 3), ("sinh", -2, 2), ("cosh", -2, 2),
    ("arcsinh", -2, 2), ("arccosh", 1.1, 3), ("arctanh", -0.9, 0.9), ("erf", -2, 2),
    ("erfc", -2, 2), ("erfinv", -0.9, 0.9), ("erfcinv", 0.1, 1.9), ("erfcx", -1, 2),
    ("gamma", 0.5, 4), ("gammaln", 0.5, 4), ("psi", 0.5, 4), ("tri_gamma", 0.5, 4),
    ("sgn", -2, 2), ("floor", -3, 3), ("ceil", -3, 3), ("round", -3, 3),
    ("iround", -3, 3), ("trunc", -3, 3), ("sqr", -2, 2), ("square", -2, 2), ("neg", -2, 2),
    ("inv", 0.5, 2), ("log1p", 0, 2), ("expm1", -1, 1), ("log2", 0.1, 3), ("log10", 0.1, 3),
    ("exp2", -2, 2), ("deg2rad", -90, 90), ("rad2deg", -3, 3), ("isnan", -1, 1),
    ("isinf", -1, 1), ("j0", -3, 3), ("j1", -3, 3), ("i0", -2, 2), ("i1", -2, 2),
    ("nnet.sigmoid", -3, 3), ("nnet.softplus", -3, 3), ("nnet.relu", -2, 2),
    ("nnet.softsign", -2, 2), ("nnet.hard_sigmoid", -4, 4), ("nnet.elu", -2, 2),
    ("nnet.selu", -2, 2), ("nnet.ultra_fast_sigmoid", -0.5, 0.5), ("real", -2, 2),
    ("imag", -2, 2), ("conj", -2, 2), ("angle", -2, 2), ("zeros_like", -1, 1),
    ("ones_like", -1, 1), ("tensor_copy", -1, 1), ("sort", -1, 1), ("argsort", -1, 1),
    ("cumsum", -1, 1), ("cumprod", -1, 1), ("ptp", -1, 1), ("flatnonzero", -1, 1),
    ("nonzero_values", -1, 1), ("extra_ops.diff", -1, 1), ("diag", -1, 1),
]
_FIX = {"ultra_fast_sigmoid": "rtol=1e-2"}

BINARY = [
    ("add", "x + y"), ("sub", "x - y"), ("mul", "x * y"), ("true_div", "x / y"),
    ("int_div", "T.int_div(x, y)"), ("mod", "x % y"), ("pow", "abs(x) ** y"),
    ("maximum", "T.maximum(x, y)"), ("minimum", "T.minimum(x, y)"), ("eq", "T.eq(x, y)"),
    ("neq", "T.neq(x, y)"), ("lt", "x < y"), ("le", "x <= y"), ("gt", "x > y"),
    ("ge", "x >= y"), ("arctan2", "T.arctan2(x, y)"), ("switch", "T.switch(x > 0, x, y)"),
    ("clip", "T.clip(x, -0.5, y)"), ("largest", "T.largest(x, y, x * y)"),
    ("smallest", "T.smallest(x, y)"), ("isclose", "T.isclose(x, x + 1e-9 * y)"),
    ("allclose", "T.allclose(x, y)"), ("xlogy0", "T.xlogx.xlogy0(abs(x), abs(y))"),
    ("dot", "T.dot(x, y.T)"), ("outer", "T.outer(x[0], y[1])"),
    ("stack", "T.stack([x, y], axis=1)"), ("concatenate", "T.concatenate([x, y], axis=1)"),
    ("horizontal_stack", "T.horizontal_stack(x, y)"),
    ("vertical_stack", "T.vertical_stack(x, y)"), ("where", "T.where(x > y, x, y)"),
    ("divmod", "list(T.divmod(x, abs(y) + 1))"), ("ceil_intdiv",
                                                  "T.ceil_intdiv(T.iround(x * 5), 3)"),
    ("bitwise", "[T.and_(T.iround(x * 3), T.iround(y * 3)), T.or_(T.iround(x * 3), 2),"
                " T.xor(T.iround(y * 4), 3), T.invert(T.iround(x))]"),
]

# functions of two positive arguments, given directly as inputs (Theano 1.0.5 swaps the
# arguments of gammaincc when it fuses it with other elementwise ops: not reproduced)
POSITIVE = [("jv", "T.jv(x, y)"), ("iv", "T.iv(x, y)"), ("gammainc", "T.gammainc(x, y)"),
            ("gammaincc", "T.gammaincc(x, y)"), ("chi2sf", "T.chi2sf(y, x)"),
            ("gammal", "T.gammal(x, y)"), ("gammau", "T.gammau(x, y)")]

AXES = [
    ("sum", "None"), ("sum", "0"), ("sum", "1"), ("prod", "1"), ("max", "None"),
    ("max", "0"), ("min", "1"), ("mean", "None"), ("mean", "1"), ("var", "0"), ("std", "1"),
    ("argmax", "1"), ("argmin", "0"), ("all", "1"), ("any", "0"), ("ptp", "0"),
    ("cumsum", "1"), ("cumprod", "0"), ("sort", "0"), ("sort", "None"), ("argsort", "0"),
    ("max_and_argmax", "1"),
]

MATRIX = [
    # name, code with x (3x4 matrix of N(0, 1)) giving out
    ("transpose", "x.T"), ("dimshuffle", "x.dimshuffle(1, 'x', 0)"),
    ("reshape", "x.reshape((2, 6))"), ("reshape_minus1", "T.reshape(x, (-1, 3))"),
    ("flatten", "x.flatten()"), ("flatten2", "T.flatten(x.dimshuffle(0, 1, 'x'), 2)"),
    ("shape", "x.shape"), ("size", "x.size"), ("shape_padleft", "T.shape_padleft(x, 2)"),
    ("shape_padright", "T.shape_padright(x)"), ("shape_padaxis", "T.shape_padaxis(x, 1)"),
    ("addbroadcast", "T.addbroadcast(x[:1], 0)"), ("specify_shape",
                                                   "T.specify_shape(x, (3, 4)) * 2"),
    ("patternbroadcast", "T.patternbroadcast(x[:, :1], (False, True)) + x"),
    ("tile", "T.tile(x, (2, 1))"), ("repeat", "T.repeat(x, 2, axis=0)"),
    ("roll_none", "T.roll(x, 2)"), ("roll_axis", "T.roll(x, -1, axis=1)"),
    ("diag_matrix", "T.diag(x)"), ("diagonal_offset", "T.diagonal(x, 1)"),
    ("trace", "T.nlinalg.trace(x[:, :3])"), ("tril", "T.tril(x)"), ("triu", "T.triu(x, 1)"),
    ("fill_diagonal", "T.fill_diagonal(x, 5.0)"),
    ("fill_diagonal_offset", "T.extra_ops.fill_diagonal_offset(x, 5.0, 1)"),
    ("nonzero", "list(T.nonzero(T.gt(x, 0)))"), ("nonzero_method", "list((x > 0).nonzero())"),
    ("nonzero_values", "T.nonzero_values(T.switch(x > 0, x, 0))"),
    ("subtensor_list_of_slices", "x[[slice(0, 2), slice(1, None)]]"),
    ("subtensor_int", "x[1, 2:]"), ("subtensor_adv", "x[[0, 2, 2]]"),
    ("subtensor_mask", "x[(x > 0).nonzero()]"), ("set_subtensor",
                                                  "T.set_subtensor(x[1:], 0.5)"),
    ("inc_subtensor", "T.inc_subtensor(x[[0, 0, 2]], 1.0)"),
    ("take", "T.take(x, [2, 0], axis=1)"), ("choose", "T.choose(T.argmax(x, 0) % 2, [x[0], x[1]])"),
    ("inverse_permutation", "T.inverse_permutation(T.argsort(x[0]))"),
    ("permute_row_elements", "T.permute_row_elements(x, T.argsort(x, axis=1))"),
    ("stacklists", "T.stacklists([[x[0, 0], x[0, 1]], [x[1, 0], x[1, 1]]])"),
    ("mgrid", "T.mgrid[0:2, 0:3]"), ("ogrid", "T.ogrid[0:2, 1:4]"),
    ("arange", "T.arange(2, 9, 3)"), ("eye", "T.eye(3, 4, 1)"),
    ("identity_like", "T.identity_like(x)"), ("tri", "T.tri(3, 4, 0)"),
    ("zeros", "T.zeros((2, 3))"), ("ones", "T.ones((x.shape[0], 2))"),
    ("alloc", "T.alloc(x[0], 2, 4)"), ("cast", "T.cast(x * 10, 'int32')"),
    ("astype", "(x * 10).astype('int8')"), ("bincount",
                                            "T.extra_ops.bincount(T.iround(abs(x[0]) * 3))"),
    ("searchsorted", "T.extra_ops.searchsorted(T.sort(x[0]), x[1])"),
    ("unravel_index", "list(T.extra_ops.unravel_index(T.arange(5), (2, 3)))"),
    ("ravel_multi_index", "T.extra_ops.ravel_multi_index([T.arange(2), T.arange(2)], (2, 3))"),
    ("squeeze", "T.extra_ops.squeeze(x[:1])"), ("swapaxes", "x.dimshuffle(0, 1, 'x').swapaxes(0, 2)"),
    ("to_one_hot", "T.extra_ops.to_one_hot(T.argmax(x, 1), 5)"),
    ("cov", "T.cov(x)"), ("bartlett", "T.bartlett(5)"),
    ("tensordot", "T.tensordot(x, x, [[1], [1]])"),
    ("batched_dot", "T.batched_dot(x.dimshuffle(0, 1, 'x'), x.dimshuffle(0, 'x', 1))"),
    ("batched_tensordot", "T.batched_tensordot(x.dimshuffle(0, 1, 'x'),"
                          " x.dimshuffle(0, 1, 'x'), [[1], [1]])"),
    ("round_half", "T.round(x * 2)"), ("round_away", "T.round(x * 2, 'half_away_from_zero')"),
    ("complex", "[T.real(T.complex(x, x * 2)), T.imag(T.complex(x, x * 2))]"),
    ("split", "T.split(x, [1, 3], 2, axis=1)"), ("join", "T.join(0, x, x[:1])"),
    ("get_scalar_constant_value", "T.as_tensor_variable(T.get_scalar_constant_value("
                                  "T.constant(3.0) * 2))"),
    ("constant_value_error", "T.get_scalar_constant_value(x)"),
]

NNET = [
    ("softmax", "T.nnet.softmax(x)"), ("softmax_vector", "T.nnet.softmax(x[0])"),
    ("logsoftmax", "T.nnet.logsoftmax(x)"),
    ("categorical_crossentropy",
     "T.nnet.categorical_crossentropy(T.nnet.softmax(x), T.argmax(x, 1) % 2)"),
    ("binary_crossentropy",
     "T.nnet.binary_crossentropy(T.nnet.sigmoid(x), T.nnet.sigmoid(x * 2))"),
    ("crossentropy_softmax_1hot", "list(T.nnet.crossentropy_softmax_1hot(x, T.argmax(x, 1)))"),
    ("softmax_with_bias", "T.nnet.softmax_with_bias(x, x[0])"),
    ("relu_alpha", "T.nnet.relu(x, 0.1)"), ("h_softmax_full",
                                            "T.nnet.h_softmax(x, 3, 4, 2, 2, x.T[:, :2],"
                                            " x[0, :2], x.reshape((2, 4, 2))[:, :, :],"
                                            " x.reshape((4, 3))[:2, :2])"),
]

# images to patches (the convolutions themselves cannot run under the reference Theano in
# pure-Python mode with this SciPy: tests/compat/test_abstract_conv.py checks them against
# NumPy instead)
NEIBS = [
    ("images2neibs", "T.nnet.neighbours.images2neibs(img, (2, 2), mode='ignore_borders')"),
    ("images2neibs_step",
     "T.nnet.neighbours.images2neibs(img, (3, 2), (2, 2), mode='ignore_borders')"),
    ("images2neibs_valid_error", "T.nnet.neighbours.images2neibs(img, (2, 2), mode='valid')"),
    ("images2neibs_valid", "T.nnet.neighbours.images2neibs(img[:, :, :6], (2, 3))"),
    ("images2neibs_grad", "T.grad((T.nnet.neighbours.images2neibs(img, (3, 2), (2, 2),"
                          " mode='ignore_borders') ** 2).sum(), img)"),
    ("neibs2images", "T.nnet.neighbours.neibs2images(T.nnet.neighbours.images2neibs("
                     "img[:, :, :6], (2, 2)), (2, 2), (2, 3, 6, 6))"),
    ("bn_train", "list(T.nnet.bn.batch_normalization_train(img, img[:1, :, :1, :1] * 0 + 1.5,"
                 " img[:1, :, :1, :1], axes='spatial')[:3])"),
    ("bn_test", "T.nnet.bn.batch_normalization_test(img, img[:1] * 0 + 2, img[:1],"
                " img[:1] * 0, img[:1] * 0 + 4, axes='per-activation')"),
    ("bn_old", "T.nnet.bn.batch_normalization(img, 2.0, 0.5, img.mean(), img.std() + 1)"),
    ("conv_output_shape", "T.as_tensor_variable(np.array(T.nnet.abstract_conv."
                          "get_conv_output_shape((2, 3, 7, 6), (4, 3, 3, 2), 'half', (2, 1),"
                          " (1, 2))))"),
]

LINALG = [
    ("matrix_inverse", "T.nlinalg.matrix_inverse(a)"), ("det", "T.nlinalg.det(a)"),
    ("solve", "T.slinalg.solve(a, b)"), ("cholesky", "T.slinalg.cholesky(spd)"),
    ("eigh", "T.nlinalg.eigh(spd)[0]"), ("eigvalsh", "T.slinalg.eigvalsh(spd, a.T.dot(a) + T.identity_like(a))"),
    ("svd_values", "T.nlinalg.svd(b, compute_uv=False)"),
    ("qr_r", "abs(T.nlinalg.qr(a, mode='r'))"), ("pinv", "T.nlinalg.pinv(b)"),
    ("kron", "T.slinalg.kron(a, b)"), ("matrix_power", "T.nlinalg.matrix_power(a, 3)"),
    ("matrix_dot", "T.nlinalg.matrix_dot(a, a, b)"), ("trace", "T.nlinalg.trace(a)"),
    ("norm_fro", "T.nlinalg.norm(a, None)"), ("norm_1", "T.nlinalg.norm(a, 1)"),
    ("expm", "T.slinalg.expm(a / 3)"), ("extract_diag", "T.nlinalg.extract_diag(a)"),
    ("alloc_diag", "T.nlinalg.alloc_diag(a[0])"),
    ("solve_lower", "T.slinalg.solve_lower_triangular(T.tril(spd), b)"),
    ("grad_det", "T.grad(T.nlinalg.det(a), a)"),
    ("grad_inverse", "T.grad(T.nlinalg.matrix_inverse(a).sum(), a)"),
    ("grad_solve", "T.grad(T.slinalg.solve(a, b).sum(), [a, b])"),
    ("grad_cholesky", "T.grad(T.slinalg.cholesky(spd).sum(), s)"),
    ("grad_eigvalsh", "T.grad((T.slinalg.eigvalsh(spd, a.T.dot(a) + T.identity_like(a))"
                      " * T.arange(3)).sum(), [s, a])"),
]

GRADIENT = [
    ("grad_sort", "T.grad((T.sort(x) * T.arange(7)).sum(), x)"),
    ("grad_cumsum", "T.grad((T.cumsum(x) ** 2).sum(), x)"),
    ("grad_cumprod", "T.grad(T.cumprod(x).sum(), x)"),
    ("grad_special", "T.grad((T.erfinv(x / 3) + T.gammaln(abs(x) + 1) + T.psi(abs(x) + 1)"
                     " + T.arcsinh(x) + T.j1(x)).sum(), x)"),
    ("grad_roll", "T.grad((T.roll(x, 2) * T.arange(7)).sum(), x)"),
    ("grad_diag", "T.grad((T.diag(x) ** 2).sum(), x)"),
    ("grad_clip", "T.grad((theano.gradient.grad_clip(x, -0.1, 0.2) ** 3).sum(), x)"),
    ("grad_scale", "T.grad((theano.gradient.grad_scale(x, -2.0) ** 2).sum(), x)"),
    ("consider_constant", "T.grad((x * theano.gradient.consider_constant(x ** 2)).sum(), x)"),
    ("zero_grad", "T.grad((x * theano.gradient.zero_grad(x)).sum(), x)"),
    ("disconnected_grad", "T.grad((x * theano.gradient.disconnected_grad(x)).sum(), x)"),
    ("jacobian", "theano.gradient.jacobian(x[:3] ** 2, x)"),
    ("hessian", "theano.gradient.hessian((x ** 3).sum(), x)"),
    ("Rop", "theano.Rop(T.tanh(x), x, x * 0 + 1)"), ("Lop", "theano.Lop(T.tanh(x), x, x)"),
    ("grad_nonscalar_error", "T.grad(x, x)"),
    ("grad_disconnected_error", "T.grad(x.sum(), T.dvector())"),
    ("grad_disconnected_ignore", "T.grad(x.sum(), T.dvector('y'),"
                                 " disconnected_inputs='ignore')"),
    ("grad_subtensor", "T.grad((x[[0, 0, 3]] ** 2).sum() + x[1:4].sum(), x)"),
    ("grad_nonzero_values", "T.grad(T.nonzero_values(x * (x > 0)).sum(), x)"),
    ("grad_maximum", "T.grad(T.maximum(x, 0.1).sum() + T.max(x), x)"),
    ("grad_known_grads", "T.grad(None, x, known_grads={x ** 2: x * 0 + 1})"),
]

SPARSE = [
    ("dot", "theano.sparse.dot(s, d)"), ("dot_dense_left", "theano.sparse.dot(d.T, s.T)"),
    ("structured_dot", "theano.sparse.structured_dot(s, d)"),
    ("true_dot", "theano.sparse.true_dot(s, s.T)"), ("add_ss", "theano.sparse.add(s, s)"),
    ("add_sd", "theano.sparse.add(s, d.T)"), ("mul_sd", "theano.sparse.mul(s, d.T)"),
    ("mul_ss", "theano.sparse.mul(s, s)"), ("neg", "-s"), ("transpose", "s.T"),
    ("sp_sum0", "theano.sparse.sp_sum(s, axis=0)"), ("sp_sum", "theano.sparse.sp_sum(s)"),
    ("dense_from_sparse", "theano.sparse.dense_from_sparse(s)"),
    ("csr_from_dense", "theano.sparse.csr_from_dense(d.T * (d.T > 0))"),
    ("csm_properties", "list(theano.sparse.csm_properties(s))"),
    ("sqrt", "theano.sparse.sqrt(s * s)"), ("cast", "theano.sparse.cast(s, 'float32')"),
    ("eq_sd", "theano.sparse.eq(s, d.T)"), ("gt_ss", "theano.sparse.gt(s, -s)"),
    ("get_item_scalar", "theano.sparse.get_item_scalar(s, (1, 2))"),
    ("get_item_list", "theano.sparse.get_item_list(s, [2, 0])"),
    ("get_item_2d", "s[0:2, 1:3]"), ("hstack", "theano.sparse.hstack([s, s])"),
    ("mul_s_v", "theano.sparse.mul_s_v(s, d[:, 0])"),
    ("structured_add_s_v", "theano.sparse.structured_add_s_v(s, d[:, 0])"),
    ("sp_ones_like", "theano.sparse.sp_ones_like(s)"),
    ("grad_dense_operand", "T.grad(theano.sparse.dot(s, d).sum(), d)"),
    ("grad_structured_dot", "T.grad((theano.sparse.structured_dot(s, d) ** 2).sum(), d)"),
    ("grad_data", "T.grad((theano.sparse.dense_from_sparse(theano.sparse.CSR(data * 2, ind,"
                  " ptr, shp)) ** 2).sum() + theano.sparse.sp_sum(theano.sparse.CSR(data, ind,"
                  " ptr, shp) * 3.0), data)"),
    ("grad_data_dot", "T.grad(theano.sparse.dot(theano.sparse.CSR(data, ind, ptr, shp),"
                      " d).sum(), data)"),
]


def _cases():
    cases = []
    for fn, lo, hi in UNARY:
        call = f"T.{fn}(x)"
        cases.append((f"unary_{fn}", V.format(lo=lo, hi=hi) +
                      f"result = run([x], {call}, xv)"))
    for name, expr in BINARY:
        cases.append((f"binary_{name}", "x = T.dmatrix('x'); y = T.dmatrix('y')\n"
                      "xv = rng.standard_normal((3, 4)); yv = rng.standard_normal((3, 4))\n"
                      f"result = run([x, y], {expr}, xv, yv)"))
    for name, expr in POSITIVE:
        cases.append((f"positive_{name}", "x = T.dmatrix('x'); y = T.dmatrix('y')\n"
                      "xv = rng.uniform(0.5, 3, (3, 4)); yv = rng.uniform(0.5, 3, (3, 4))\n"
                      f"result = run([x, y], {expr}, xv, yv)"))
    for fn, axis in AXES:
        cases.append((f"reduce_{fn}_{axis}", M.format(lo=-1, hi=1) +
                      f"result = run([x], T.{fn}(x, axis={axis}), xv)"))
    for name, expr in MATRIX:
        cases.append((f"matrix_{name}", "x = T.dmatrix('x'); xv = rng.standard_normal((3, 4))\n"
                      f"result = run([x], {expr}, xv)"))
    for name, expr in NNET:
        cases.append((f"nnet_{name}", "x = T.dmatrix('x'); xv = rng.standard_normal((3, 4))\n"
                      f"result = run([x], {expr}, xv)"))
    for name, expr in NEIBS:
        cases.append((f"nnet_{name}", "img = T.dtensor4('img');"
                      " iv = rng.standard_normal((2, 3, 7, 6))\n"
                      f"result = run([img], {expr}, iv)"))
    lin_setup = ("a = T.dmatrix('a'); b = T.dmatrix('b'); s = T.dmatrix('s')\n"
                 "spd = T.dot(s, s.T) + 3 * T.identity_like(s)\n"
                 "av = rng.standard_normal((3, 3)) + 3 * np.eye(3);"
                 " bv = rng.standard_normal((3, 2)); sv = rng.standard_normal((3, 3))\n")
    for name, expr in LINALG:
        cases.append((f"linalg_{name}", lin_setup + f"result = run([a, b, s], {expr}, av, bv,"
                      " sv)"))
    for name, expr in GRADIENT:
        cases.append((f"gradient_{name}", V.format(lo=-1, hi=1) +
                      f"result = run([x], {expr}, xv)"))
    sp_setup = ("s = theano.sparse.csr_matrix('s'); d = T.dmatrix('d'); data = T.dvector('data')\n"
                "sv = sparse.csr_matrix(np.where(rng.uniform(size=(3, 4)) < 0.5,"
                " rng.standard_normal((3, 4)), 0))\n"
                "dv = rng.standard_normal((4, 3))\n"
                "_, ind, ptr, shp = theano.sparse.csm_properties(s)\n")
    for name, expr in SPARSE:
        cases.append((f"sparse_{name}", sp_setup + f"result = run([s, d, data], {expr}, sv, dv,"
                      " sv.data)"))
    cases += PROGRAMS
    return cases


PROGRAMS = [
    ("program_scan_power", """
k = T.iscalar('k'); A = T.dvector('A')
result_, updates = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                               non_sequences=A, n_steps=k)
result = run([k, A], result_[-1], 3, np.arange(5.0))
"""),
    ("program_map_reduce", """
x = T.dvector('x')
sq, _ = theano.map(lambda v: v ** 2, [x])
total, _ = theano.reduce(lambda v, acc: acc + v, [x], x[0] * 0)
fl, _ = theano.foldl(lambda v, acc: acc * 2 + v, [x], x[0] * 0)
fr, _ = theano.foldr(lambda v, acc: acc * 2 + v, [x], x[0] * 0)
result = run([x], [sq, total, fl, fr], np.arange(4.0))
"""),
    ("program_updates_givens", """
W = theano.shared(np.ones((2, 2)), name='W'); i = T.iscalar('i')
data = theano.shared(np.arange(12.0).reshape(6, 2))
x = T.dmatrix('x')
f = theano.function([i], (T.dot(x, W) ** 2).sum(), updates=[(W, W * 0.5)],
                    givens={x: data[i * 2:(i + 1) * 2]})
result = [f(0), f(2), W.get_value()]
"""),
    ("program_clone", """
x = T.dscalar('x'); y = T.dscalar('y'); z = x ** 2 + 1
z2 = theano.clone(z, replace={x: y * 3})
result = [run([y], z2, 2.0), len(theano.gof.graph.inputs([z2])),
          theano.gof.graph.is_same_graph(z, theano.clone(z)), z2 is not z]
"""),
    ("program_function_copy", """
acc = theano.shared(np.float64(0)); x = T.dscalar('x')
f = theano.function([x], acc + x, updates=[(acc, acc + x)])
acc2 = theano.shared(np.float64(100))
h = f.copy(swap={acc: acc2})
result = [f(1.0), np.ravel(h(2.0))[0], acc.get_value(), acc2.get_value(), f(1.0)]
"""),
    ("program_in_defaults", """
x, y = T.dscalars('x', 'y')
f = theano.function([x, theano.In(y, value=1.5, name='why')], x * y)
result = [f(2.0), f(2.0, 3.0), f(2.0, why=4.0)]
"""),
    ("program_plural_types", """
a, b = T.dmatrices('a', 'b'); c = T.dscalars('c'); d, e = T.fvectors(2)
result = [str(a.type), str(c.type), str(d.type), a.type is T.dmatrix, str(T.row().type),
          str(T.TensorType('float32', (False,) * 4)), str(T.TensorType('int8', (True, False,
          True))), len(T.scalars('xyz')), str((a + b).type), a.broadcastable,
          T.col().broadcastable, hasattr(T, 'basic'), hasattr(T, 'no_such_name')]
"""),
    ("program_as_op", """
@theano.compile.ops.as_op(itypes=[T.dmatrix], otypes=[T.dvector])
def row_norms(m):
    return np.sqrt((m ** 2).sum(axis=1))
x = T.dmatrix('x')
result = run([x], row_norms(x) * 2, np.arange(6.0).reshape(3, 2))
"""),
    ("program_user_op", """
class ScaleOp(theano.Op):
    __props__ = ('factor',)
    def __init__(self, factor):
        self.factor = factor
    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return theano.Apply(self, [x], [x.type()])
    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * self.factor
    def infer_shape(self, node, shapes):
        return shapes
    def grad(self, inputs, output_grads):
        return [ScaleOp(self.factor)(output_grads[0])]
x = T.dmatrix('x')
y = ScaleOp(3.0)(x)
result = run([x], [y, T.grad((y ** 2).sum(), x), y.shape], np.arange(6.0).reshape(2, 3)) + [
    ScaleOp(2.0) == ScaleOp(2.0), ScaleOp(2.0) == ScaleOp(3.0)]
"""),
    ("program_opfromgraph", """
x, y = T.dmatrices('x', 'y')
op = theano.OpFromGraph([x, y], [x * y + T.exp(x)])
z = op(x, y) * 2
result = run([x, y], [z] + T.grad(z.sum(), [x, y]), np.ones((2, 2)),
             np.arange(4.0).reshape(2, 2))
"""),
    ("program_ifelse", """
from theano.ifelse import ifelse
a, b = T.dscalars('a', 'b'); x, y = T.dmatrices('x', 'y')
z = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
result = [run([a, b, x, y], z, 1.0, 2.0, np.ones((2, 2)), np.zeros((2, 2))),
          run([a, b, x, y], z, 3.0, 2.0, np.ones((2, 2)), np.zeros((2, 2)))]
"""),
    ("program_typed_list", """
import theano.typed_list as TL
l = TL.TypedListType(T.dvector)('l'); v = T.dvector('v')
result = run([l, v], [TL.length(TL.append(l, v)), TL.getitem(l, 1), TL.count(l, v),
                      TL.index_(l, v)], [np.ones(2), np.arange(3.0), np.ones(2)], np.ones(2))
"""),
    ("program_gpu_probe", """
import theano.gpuarray
result = [theano.gpuarray.pygpu_activated]
"""),
    ("program_dtype_errors", """
x = T.fvector('x')
f = theano.function([x], x * 2)
result = f(np.ones(3))
"""),
    ("program_unused_input", """
x, y = T.dscalars('x', 'y')
f = theano.function([x, y], x * 2)
"""),
    ("program_shape_error", """
x, y = T.dvectors('x', 'y')
result = run([x, y], x + y, np.ones(3), np.ones(4))
"""),
    ("program_shared_broadcastable", """
b = theano.shared(np.zeros((1, 3)), broadcastable=(True, False))
x = T.dmatrix('x')
result = [b.broadcastable, run([x], x + b, np.ones((2, 3))), str(b.type)]
"""),
    ("program_print_op", """
x = T.dvector('x')
y = theano.printing.Print('value')(x) * 2
result = run([x], y, np.arange(3.0))
"""),
]

CASES = _cases()


#: cases where Theano 1.0.5 raises and symgraph computes (their values are checked by
#: symgraph's own tests): name -> why Theano fails
BEYOND_THEANO = {
    "nnet_images2neibs_grad": "Theano's Images2Neibs gradient exists only for non-overlapping "
                              "patches (NullTypeGradError)",
    "sparse_grad_data_dot": "Theano's CSM gradient needs a sparse output gradient, which the "
                            "gradient of SparseDot is not (TypeError)",
}
