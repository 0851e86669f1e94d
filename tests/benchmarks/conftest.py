"""A tiny MNIST-format dataset (uncompressed IDX files) so the study tests need no download."""
import hashlib

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """Folder with 1000 training and 300 test 28×28 images: a class template plus noise."""
    from models.data import write_idx
    folder = tmp_path_factory.mktemp("mnist")
    gen = np.random.default_rng(20240611)  # local to the fixture: the data must not vary
    templates = gen.uniform(0, 255, size=(10, 28, 28))
    for split, n in (("train", 1000), ("t10k", 300)):
        labels = gen.integers(0, 10, size=n).astype(np.uint8)
        images = 0.5 * templates[labels] + gen.uniform(0, 127, size=(n, 28, 28))
        write_idx(folder / f"{split}-images-idx3-ubyte", images.astype(np.uint8),
                  compress=False)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels, compress=False)
    # the loader verifies checksums: list ours, as a data folder's MD5SUMS does
    sums = [f"{hashlib.md5(f.read_bytes()).hexdigest()}  {f.name}"
            for f in sorted(folder.iterdir())]
    (folder / "MD5SUMS").write_text("\n".join(sums) + "\n")
    return folder
