"""The one-line redirection: module identities, names legacy programs use, and pickling."""
import copy
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import symgraph
import symgraph.compat.theano_alias  # noqa: F401
import theano  # noqa: E402  (resolved by the redirection)
import theano.tensor as T  # noqa: E402


def test_module_paths_resolve_to_symgraph_objects():
    import theano.sandbox.rng_mrg
    import theano.tensor.nnet
    import theano.tensor.shared_randomstreams
    import theano.tensor.signal.pool
    from theano.tensor.nnet import conv

    import symgraph.compat.theano.tensor as compat_tensor
    assert T is compat_tensor and T.__name__ == "symgraph.compat.theano.tensor"
    assert T.dot is symgraph.tensor.dot and T.grad is symgraph.grad
    assert theano.tensor.nnet.sigmoid is symgraph.tensor.nnet.sigmoid
    assert theano.tensor.signal.pool.pool_2d is symgraph.tensor.signal.pool.pool_2d
    assert callable(conv.conv2d)
    assert callable(theano.sandbox.rng_mrg.MRG_RandomStreams)
    assert callable(theano.tensor.shared_randomstreams.RandomStreams)
    assert theano.Variable is symgraph.Variable and theano.Apply is symgraph.Apply


def test_activation_compared_by_identity():
    activation = T.nnet.sigmoid
    assert activation == theano.tensor.nnet.sigmoid
    assert not (T.tanh == theano.tensor.nnet.sigmoid)


def test_config_flags_are_accepted():
    theano.config.warn.subtensor_merge_bug = False
    theano.config.compute_test_value = "off"
    assert theano.config.device == "cpu"
    with pytest.raises(ValueError, match="floatX"):
        theano.config.floatX = "int32"


def test_scalar_upcast_xlogy0_and_ifelse():
    import theano.scalar
    from theano.ifelse import ifelse
    from theano.tensor.xlogx import xlogy0

    assert theano.scalar.upcast("int32", "float32") == "float64"
    assert theano.scalar.upcast("float32", "int8") == "float32"
    x, y = T.vector("x"), T.vector("y")
    f = theano.function([x, y], xlogy0(x, y))
    np.testing.assert_allclose(f(np.array([0.0, 2.0]), np.array([0.0, 3.0])),
                               [0.0, 2 * np.log(3.0)])
    c = T.scalar("c")
    g = theano.function([c, x, y], ifelse(T.gt(c, 0), x, y))
    np.testing.assert_array_equal(g(1.0, np.ones(2), np.zeros(2)), np.ones(2))
    np.testing.assert_array_equal(g(-1.0, np.ones(2), np.zeros(2)), np.zeros(2))


def test_runner_executes_a_script(tmp_path):
    script = tmp_path / "legacy.py"
    script.write_text("import theano, theano.tensor as T, numpy\n"
                      "x = T.dvector('x')\n"
                      "f = theano.function([x], (x ** 2).sum())\n"
                      "print('VALUE', f(numpy.arange(4.0)))\n")
    out = subprocess.run([sys.executable, "-m", "symgraph.compat.run", str(script)],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "VALUE 14.0" in out.stdout


class _Classifier:
    def __init__(self, rng):
        self.x = T.matrix("x")
        self.W = theano.shared(rng.standard_normal((3, 2)), name="W", borrow=True)
        self.b = theano.shared(np.zeros(2), name="b")
        self.p_y_given_x = T.nnet.softmax(T.dot(self.x, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)


def test_pickled_model_keeps_values_and_graph(rng):
    clf = _Classifier(rng)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.W.get_value(), clf.W.get_value())
    data = rng.standard_normal((4, 3))
    predict = theano.function([restored.x], restored.y_pred)
    np.testing.assert_array_equal(predict(data),
                                  np.argmax(data @ clf.W.get_value() + clf.b.get_value(), 1))


def test_compiled_function_deepcopy_runs(rng):
    clf = _Classifier(rng)
    f = theano.function([clf.x], clf.p_y_given_x)
    g = copy.deepcopy(f)
    data = rng.standard_normal((2, 3))
    np.testing.assert_allclose(g(data), f(data))


def test_variable_truthiness_like_theano():
    W = theano.shared(np.zeros(3))
    assert W  # `if not W:` must not raise
    with pytest.raises(TypeError):
        bool(T.vector() < 1)


def test_extra_ops_repeat_with_gradient(rng):
    from theano.tensor.extra_ops import repeat
    x = T.vector("x")
    f = theano.function([x], [repeat(x, 3), T.grad((repeat(x, 3) ** 2).sum(), x)])
    v = rng.standard_normal(4)
    out, g = f(v)
    np.testing.assert_allclose(out, np.repeat(v, 3))
    np.testing.assert_allclose(g, 3 * 2 * v)


def test_theano_sparse_without_scipy_says_what_to_install(tmp_path):
    # a program without SciPy: theano imports, theano.sparse names the missing extra
    code = ("import sys\n"
            "sys.modules['scipy'] = None\n"
            "import symgraph.compat.theano_alias, theano, theano.tensor\n"
            "try:\n"
            "    import theano.sparse\n"
            "except ImportError as exc:\n"
            "    print(type(exc).__name__, '|', exc)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=root), cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ImportError | theano.sparse needs SciPy")
    assert "pip install symgraph[scipy]" in out.stdout
