"""``spinemu rbm sample``: a PNG of p-bit samples, the pseudo-likelihoods beside scikit-learn's,
and one-line errors."""

from __future__ import annotations

import re

import numpy as np
from click.testing import CliRunner

from spinemu.cli import main
from spinemu.ising import RBM


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sample_writes_a_png_and_both_pseudo_likelihoods(tmp_path):
    png = tmp_path / "s.png"
    result = run("rbm", "sample", "--samples", "40", "--steps", "5", "--grid", "12",
                 "-o", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    found = dict(re.findall(r"pseudo-likelihood, (p-bits|scikit-learn)\s*│\s*(-[\d.]+)",
                            result.output))
    assert set(found) == {"p-bits", "scikit-learn"}
    assert "digits_rbm: 64 visible, 64 hidden" in result.output


def test_hybrid_sampling_gives_the_same_chains(tmp_path):
    """The hybrid fabric computes the RBM's fields exactly: the p-bit samples, and so their
    pseudo-likelihood, are those of the p-bit core."""
    found = []
    for flag in ((), ("--hybrid",)):
        result = run("rbm", "sample", "--samples", "30", "--steps", "3", "--grid", "4",
                     "-o", str(tmp_path / "h.png"), *flag)
        assert result.exit_code == 0, result.output
        found.append(re.search(r"pseudo-likelihood, p-bits\s*│\s*(-[\d.]+)",
                               result.output).group(1))
    assert found[0] == found[1]
    assert "hybrid (crossbar tile -> p-bits)" in result.output


def test_a_small_rbm_file(tmp_path):
    rng = np.random.default_rng(1)
    RBM(rng.normal(size=(9, 2)), rng.normal(size=9), rng.normal(size=2)).save(tmp_path / "r.npz")
    result = run("rbm", "sample", str(tmp_path / "r.npz"), "--side", "3", "--samples", "20",
                 "--steps", "2", "-o", str(tmp_path / "r.png"))
    assert result.exit_code == 0, result.output
    assert "9 visible, 2 hidden" in result.output


def test_bad_input_is_one_line_with_status_2(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("text")
    for args, message in [
        ((str(bad),), r"error: .*bad\.npz is not an RBM file; allowed an \.npz archive holding "
                      r"weights, visible_bias and hidden_bias\n"),
        (("--steps", "0"), r"error: steps = 0 is out of range; allowed >= 1\n"),
    ]:
        result = run("rbm", "sample", *args, "-o", str(tmp_path / "x.png"))
        assert result.exit_code == 2, result.output
        assert re.fullmatch(message, result.output), result.output
    result = run("rbm", "sample", "--side", "7", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 2 and "--side 7 gives 49 pixels; the RBM has 64 visible units" \
        in result.output
