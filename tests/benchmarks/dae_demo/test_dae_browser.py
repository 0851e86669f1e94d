"""End to end in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
selenium, the ``[browser]`` extra): draw on the demo page, check that the images it shows are
the server's answers for the same input, save a screenshot; open the graph pages (the demo's
link, and a training function's) and check their nodes, hover and folding.

Skipped, with the reason, when the browser, its driver or selenium is missing, except under
CI (``CI=true``), where ``.ci/run`` installs them and their absence is a failure. Screenshots
go to ``$SYMGRAPH_ARTIFACTS`` when set, else to the test's temporary folder (both printed).
"""
import importlib.util
import json
import os
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000")


def _missing() -> str:
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[browser]')"
    if not _binary("SYMGRAPH_CHROMIUM", "chromium", "chromium-browser", "google-chrome"):
        return "chromium is not installed (apt-get install chromium)"
    if not _binary("SYMGRAPH_CHROMEDRIVER", "chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return ""


def _binary(env: str, *names: str) -> str:
    if os.environ.get(env):
        return os.environ[env] if os.path.exists(os.environ[env]) else ""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return ""


@pytest.fixture(scope="module")
def driver():
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run under CI: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = _binary("SYMGRAPH_CHROMIUM", "chromium", "chromium-browser",
                                   "google-chrome")
    profile = tempfile.mkdtemp(prefix="symgraph-chromium-")
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(_binary("SYMGRAPH_CHROMEDRIVER", "chromedriver"))
    drv = webdriver.Chrome(service=service, options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def artifacts(tmp_path):
    folder = Path(os.environ.get("SYMGRAPH_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for(drv, script, timeout=20.0, what="the page"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = drv.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {script}")


def settled(drv):
    """Wait until no request is pending and the page's version stays put for 0.3 s."""
    wait_for(drv, "return window.daeDemo && daeDemo.version > 0", what="the first images")
    last, t0 = None, time.monotonic()
    while time.monotonic() - t0 < 20:
        v = drv.execute_script("var s = daeDemo.state;"
                               "return s.busy || s.pending ? -1 : daeDemo.version")
        if v == last and v != -1:
            return v
        last = v
        time.sleep(0.3)
    raise AssertionError("the page never settled")


def canvas_gray(drv, canvas_id):
    return np.array(drv.execute_script(
        "var c = document.getElementById(arguments[0]);"
        "var d = c.getContext('2d').getImageData(0, 0, 28, 28).data, out = [];"
        "for (var i = 0; i < d.length; i += 4) out.push(d[i]); return out;", canvas_id))


def ask(server, body):
    req = urllib.request.Request(server.url + "api/reconstruct", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def as_gray(values):
    return np.round(np.clip(np.asarray(values), 0, 1) * 255)


def console_errors(drv):
    return [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def draw(drv, points):
    from selenium.webdriver.common.action_chains import ActionChains
    pad = drv.find_element("id", "pad")
    chain = ActionChains(drv, duration=20)
    chain.move_to_element_with_offset(pad, *points[0]).click_and_hold()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        chain.move_by_offset(x1 - x0, y1 - y0)
    chain.release().perform()


def test_drawing_updates_the_reconstructions_with_the_api_answers(driver, server, artifacts):
    driver.get(server.url)
    settled(driver)
    models = driver.execute_script("return daeDemo.state.models.map(function (m) "
                                   "{ return m.name; })")
    assert models == ["masking", "salt_and_pepper", "gaussian"]
    assert len(driver.execute_script("return daeDemo.lastResponses")) == 3  # a sample digit

    driver.find_element("id", "clear").click()
    settled(driver)
    for m in models:
        assert not canvas_gray(driver, f"rec-{m}").any()  # nothing drawn, nothing shown
    before = driver.execute_script("return daeDemo.version")

    # a "7": offsets from the pad's centre (selenium 4 measures from the centre)
    draw(driver, [(-70, -80), (-20, -82), (40, -85), (60, -80), (30, -20), (0, 40),
                  (-15, 90)])
    version = settled(driver)
    assert version > before
    requests = driver.execute_script("return daeDemo.lastRequests")
    answers = driver.execute_script("return daeDemo.lastResponses")
    assert [r["model"] for r in requests] == models
    assert {(r["noise"], r["level"], r["seed"]) for r in requests} == {("masking", 0.8, 0)}
    x = np.array(requests[0]["pixels"])
    assert x.shape == (784,) and x.max() > 0.9

    # MNIST's normalisation: bounding box fitted to 20x20, centre of mass at pixel (14, 14)
    img = x.reshape(28, 28)
    rows, cols = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
    side = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    assert 19 <= side <= 21, side
    i = np.arange(28)
    com = (img.sum(1) @ i / img.sum(), img.sum(0) @ i / img.sum())
    np.testing.assert_allclose(com, (14, 14), atol=0.35)
    np.testing.assert_allclose(canvas_gray(driver, "img-input"), as_gray(x), atol=1)

    # what the page shows is what the API answers for the same input
    for req, shown in zip(requests, answers):
        answer = ask(server, req)
        assert answer["noisy"] == shown["noisy"]
        assert answer["reconstruction"] == shown["reconstruction"]
        got = canvas_gray(driver, f"rec-{req['model']}")
        np.testing.assert_allclose(got, as_gray(answer["reconstruction"]), atol=1)
        np.testing.assert_allclose(canvas_gray(driver, "img-noisy"), as_gray(answer["noisy"]),
                                   atol=1)
    masked = np.asarray(answers[0]["noisy"])
    assert np.all((masked == 0) | np.isclose(masked, x, atol=1e-5))

    # another noise: the requests and the images follow
    driver.find_element("css selector", "#noises button[data-noise='gaussian']").click()
    settled(driver)
    requests = driver.execute_script("return daeDemo.lastRequests")
    assert {(r["noise"], r["level"]) for r in requests} == {("gaussian", 0.75)}
    answer = ask(server, requests[2])
    np.testing.assert_allclose(canvas_gray(driver, "rec-gaussian"),
                               as_gray(answer["reconstruction"]), atol=1)
    shot = artifacts / "dae_demo.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10000
    print(f"screenshot: {shot}")
    assert console_errors(driver) == []


def _fold_and_hover(drv):
    """Hover the first op, fold the node with the most to fold, unfold it again."""
    from selenium.webdriver.common.action_chains import ActionChains
    wait_for(drv, "return window.d3viz", what="the graph")
    n_nodes = drv.execute_script("return d3viz.data.nodes.length")
    drawn = drv.execute_script(
        "return Array.from(document.querySelectorAll('#nodes .node')).filter(function (g) {"
        " var b = g.getBBox(); return b.width > 0 && b.height > 0; }).length")
    assert drawn == n_nodes > 5
    assert drv.execute_script("return document.querySelectorAll('#edges .edge path.line')"
                              ".length") == drv.execute_script("return d3viz.data.edges.length")
    op = drv.find_element("css selector", "#nodes .node.kind-fused, #nodes .node.kind-apply")
    ActionChains(drv).move_to_element(op).perform()
    tip = drv.find_element("id", "tooltip")
    wait_for(drv, "return !document.getElementById('tooltip').hidden", what="the tooltip")
    assert "op" in tip.text and "shape" in tip.text and "type" in tip.text
    best = drv.execute_script(
        "var best = null, size = 0; d3viz.data.nodes.forEach(function (n) {"
        " var k = d3viz.foldSet(n.id).length; if (k > size) { size = k; best = n.id; } });"
        " return [best, size];")
    assert best[1] > 0
    drv.execute_script("d3viz.fit()")
    node = drv.find_element("css selector", f"#nodes .node[data-id='{best[0]}']")
    drv.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                       node)
    visible = drv.execute_script("return d3viz.visibleNodes().length")
    assert visible == n_nodes - best[1]
    # what fed the folded part from outside now points at the folded node (dashed)
    feeding = drv.execute_script(
        "var hid = new Set(d3viz.foldSet(arguments[0])), src = new Set();"
        "d3viz.data.edges.forEach(function (e) {"
        " if (!hid.has(e.source) && hid.has(e.target)) src.add(e.source); });"
        "return src.size;", best[0])
    assert drv.execute_script("return document.querySelectorAll('.into-fold path').length") \
        == feeding
    shown = drv.execute_script("return Array.from(document.querySelectorAll('#nodes .node'))"
                               ".filter(function (g) { return g.style.display !== 'none'; })"
                               ".length")
    assert shown == visible
    assert "+%d" % best[1] in node.text
    drv.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                       node)
    assert drv.execute_script("return d3viz.visibleNodes().length") == n_nodes
    assert drv.execute_script("return document.querySelectorAll('.into-fold path').length") == 0


def test_the_demo_links_to_the_graph_of_its_reconstruction_function(driver, server, artifacts):
    driver.get(server.url)
    settled(driver)
    link = driver.find_element("css selector", "#rec-gaussian + figcaption a")
    href = link.get_attribute("href")
    assert href.endswith("/graph?noise=masking&model=gaussian")
    main = driver.current_window_handle
    link.click()
    wait_for(driver, "return true", what="the new tab")
    handles = [h for h in driver.window_handles if h != main]
    assert handles, "the graph link opens a new tab"
    driver.switch_to.window(handles[0])
    try:
        _fold_and_hover(driver)
        title = driver.find_element("css selector", "header h1").text
        assert "reconstruct_masking_by_gaussian" in title
        assert driver.find_element("id", "summary").text.startswith(
            "compiled function (rewritten graph) · ")
        kinds = set(driver.execute_script("return d3viz.data.nodes.map(function (n) "
                                          "{ return n.kind; })"))
        assert {"input", "shared", "fused", "output"} <= kinds
        driver.execute_script("d3viz.fit()")
        shot = artifacts / "dae_graph.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        assert console_errors(driver) == []
    finally:
        driver.close()
        driver.switch_to.window(main)


def test_a_training_function_page_marks_its_updates(driver, tmp_path, artifacts):
    import optimizers
    x = T.matrix("x")
    W = symgraph.shared(np.full((3, 2), 0.1), name="W")
    b = symgraph.shared(np.zeros(2), name="b")
    cost = T.mean(T.sqr(T.tanh(T.dot(x, W) + b)))
    f = symgraph.function([x], cost, updates=optimizers.Adam().updates(cost, [W, b]),
                          name="train_step")
    page = symgraph.d3viz(f, tmp_path / "train.html")
    driver.get(Path(page).resolve().as_uri())
    _fold_and_hover(driver)
    data = driver.execute_script("return d3viz.data")
    updates = [n for n in data["nodes"] if n["kind"] == "update"]
    assert len(updates) == len(f.updates)
    targets = {n["id"]: n["label"] for n in data["nodes"] if n["kind"] == "shared"}
    assert {targets[u["target"]] for u in updates} == {t.name for t, _ in f.updates}
    from selenium.webdriver.common.action_chains import ActionChains
    upd = driver.find_element("css selector", f"#nodes .node[data-id='{updates[0]['id']}']")
    ActionChains(driver).move_to_element(upd).perform()
    target = driver.find_element("css selector",
                                 f"#nodes .node[data-id='{updates[0]['target']}']")
    assert "hl" in target.get_attribute("class") and "updated" in target.get_attribute("class")
    assert driver.execute_script("return document.querySelectorAll('.writes path').length") == 1
    driver.execute_script("d3viz.fit()")
    driver.save_screenshot(str(artifacts / "train_graph.png"))
    assert console_errors(driver) == []
