"""THEANO_FLAGS and .theanorc, read once by the redirection when ``theano`` is imported (each
case in a fresh interpreter, as a program would start)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = ("import symgraph.compat.theano_alias, theano, theano.tensor as T\n"
         "x = T.matrix('x'); f = theano.function([x], x.sum() * 0 + 1)\n"
         "print('floatX', theano.config.floatX, T.matrix().dtype)\n"
         "print('mode', theano.config.mode, f.mode.name, f.mode.phases)\n"
         "print('profile', theano.config.profile, f.profile is not None)\n"
         "print('unused', theano.config.on_unused_input)\n")


def _run(code, flags=None, rc=None, tmp_path=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("THEANO_FLAGS", None)
    env["THEANORC"] = os.path.join(str(tmp_path), "no-theanorc")
    if flags is not None:
        env["THEANO_FLAGS"] = flags
    if rc is not None:
        path = os.path.join(str(tmp_path), "theanorc")
        with open(path, "w") as f:
            f.write(rc)
        env["THEANORC"] = path
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, cwd=str(tmp_path))


def test_defaults_without_flags(tmp_path):
    out = _run(PROBE, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "floatX float64 float64" in out.stdout
    assert "profile False False" in out.stdout and "unused raise" in out.stdout


def test_theano_flags_set_floatx_mode_profile(tmp_path):
    out = _run(PROBE, "floatX=float32,mode=FAST_COMPILE,profile=True,on_unused_input=warn,"
                      "cxx=,blas.ldflags=,base_compiledir=/tmp/x", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "floatX float32 float32" in out.stdout
    assert "mode FAST_COMPILE FAST_COMPILE ()" in out.stdout
    assert "profile True True" in out.stdout and "unused warn" in out.stdout
    # config.profile prints the profiles at exit, as Theano did: this one was never called
    assert "Skipping empty Profile" in out.stdout and "Function profiling" not in out.stderr


AT_EXIT = ("import numpy as np, symgraph.compat.theano_alias, theano, theano.tensor as T\n"
           "from theano.compile.profiling import ProfileStats\n"
           "x = T.dvector('x')\n"
           "f = theano.function([x], T.exp(x).sum(), name='called_f')\n"
           "g = theano.function([x], x * 2, name='never_called', profile=True)\n"
           "h = theano.function([x], x + 1, mode='ProfileMode', name='profile_mode_h')\n"
           "p = ProfileStats(message='quiet', atexit_print=False)\n"
           "q = theano.function([x], x - 1, profile=p)\n"
           "for fn in (f, h, q):\n"
           "    fn(np.ones(3))\n"
           "print('profiled', f.profile is not None, h.profile is not None)\n")


@pytest.mark.parametrize("flags,printed,absent", [
    # config.profile: every called function's profile, their sum; never_called is skipped
    ("profile=True", ["Message: called_f", "Message: profile_mode_h",
                      "Sum of all(2) printed profiles"], ["never_called", "quiet"]),
    # without it, only the ProfileMode function's, as Theano's ProfileMode printed
    ("", ["Message: profile_mode_h"], ["called_f", "Sum of all", "quiet"]),
    # flag_time_thunks from profiling.time_thunks: the calls only
    ("profile=True,profiling.time_thunks=False", ["not timed (flag_time_thunks=False)"],
     ["Apply (nodes"]),
])
def test_profiles_are_printed_at_exit_to_stderr(tmp_path, flags, printed, absent):
    out = _run(AT_EXIT, flags, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "profiled %s True" % ("profile=True" in flags) in out.stdout
    for text in printed:
        assert text in out.stderr
    for text in absent:
        assert text not in out.stderr
    assert "Skipping empty Profile" in out.stdout or "profile=True" not in flags


def test_profiles_go_to_the_profiling_destination(tmp_path):
    dest = tmp_path / "profile.txt"
    out = _run(AT_EXIT, f"profile=True,profiling.destination={dest}", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Function profiling" not in out.stderr
    assert "Message: called_f" in dest.read_text()


def test_theanorc_is_read_and_flags_win(tmp_path):
    rc = "[global]\nfloatX = float32\nmode = FAST_COMPILE\n\n[blas]\nldflags =\n"
    out = _run(PROBE, rc=rc, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "floatX float32 float32" in out.stdout and "mode FAST_COMPILE" in out.stdout
    out = _run(PROBE, "floatX=float64", rc=rc, tmp_path=tmp_path)
    assert "floatX float64 float64" in out.stdout and "mode FAST_COMPILE" in out.stdout


def test_unknown_flag_warns_like_theano(tmp_path):
    out = _run(PROBE, "floatX=float64,no_such_flag=1", tmp_path=tmp_path)
    assert out.returncode == 0
    assert "Theano does not recognise this flag: no_such_flag" in out.stderr


@pytest.mark.parametrize("flag,message", [
    ("floatX=int32", "floatX"), ("compute_test_value=always", "compute_test_value"),
    ("profile_memory=True", "memory"), ("optimizer_including=fusion", "phases"),
    ("device=cuda0,force_device=True", "CPU only"), ("mode=NoSuchMode", "mode"),
])
def test_flags_that_cannot_be_honoured_fail_clearly(tmp_path, flag, message):
    out = _run(PROBE, flag, tmp_path=tmp_path)
    assert out.returncode != 0
    assert message in out.stderr and "ValueError" in out.stderr


def test_gpu_device_falls_back_with_a_warning(tmp_path):
    out = _run(PROBE, "device=cuda", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "no GPU back end" in out.stderr


def test_config_attributes_and_change_flags():
    import symgraph.compat.theano_alias  # noqa: F401
    import theano
    import symgraph
    assert theano.config.warn.sum_div_dimshuffle_bug is None or True
    theano.config.warn.sum_div_dimshuffle_bug = False
    with theano.config.change_flags(floatX="float32"):
        assert symgraph.config.floatX == "float32"
        assert theano.tensor.matrix().dtype == "float32"
    assert theano.config.floatX == "float64"
    with pytest.raises(AttributeError):
        theano.config.no_such_flag
    with pytest.raises(ValueError, match="compute_test_value"):
        theano.config.compute_test_value = "sometimes"


def test_test_values_are_computed_when_asked():
    import numpy as np
    import symgraph.compat.theano_alias  # noqa: F401
    import theano
    import theano.tensor as T
    from symgraph.compat.theano.test_values import TestValueError
    x = T.dmatrix("x")
    x.tag.test_value = np.ones((3, 4))
    W = theano.shared(np.ones((4, 2)))
    with theano.config.change_flags(compute_test_value="raise"):
        y = T.dot(x, W).sum(axis=0)
        np.testing.assert_allclose(y.tag.test_value, [12.0, 12.0])
        with pytest.raises(ValueError, match="shapes|align|dimension"):
            T.dot(x, x)  # the shape error shows where the graph is built
        with pytest.raises(TestValueError, match="no test value"):
            T.exp(T.dvector("v"))
        assert theano.gof.op.get_debug_values(x)[0][0].shape == (3, 4)
    with theano.config.change_flags(compute_test_value="ignore"):
        T.exp(T.dvector("v"))
    z = T.dot(x, x.T)  # off again: nothing is computed
    assert not hasattr(z.tag, "test_value")
