"""tools/claims.py: a claim that holds passes, one that fails in any case fails the run."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("claims_tool", ROOT / "tools" / "claims.py")
claims_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(claims_tool)


def test_every_notebook_with_an_experiment_has_a_claims_file():
    masters = {p.name[:2] for p in (ROOT / "solutions").glob("*.ipynb")} - {"00"}
    files = {p.stem.removeprefix("claims_") for p in (ROOT / "claims").glob("claims_*.py")}
    assert masters <= files, f"no claims file for notebook(s) {sorted(masters - files)}"


def test_runner_reports_the_worst_case_and_fails_on_any_bad_case(tmp_path, monkeypatch, capsys):
    (tmp_path / "claims_99.py").write_text(
        "import torch\n"
        "def claim_holds(seed):\n"
        "    '''A claim with margin 1 + seed.'''\n"
        "    return 1.0 + seed, f'seed {seed}'\n"
        "def claim_breaks_with_two_threads(seed):\n"
        "    '''A claim that fails at 2 threads.'''\n"
        "    return 0.5 if torch.get_num_threads() != 2 else -0.25\n"
    )
    monkeypatch.setattr(claims_tool, "CLAIMS", tmp_path)
    status = claims_tool.main(["--seeds", "0", "1", "--threads", "1", "2", "--jobs", "2"])
    out = capsys.readouterr().out
    assert status == 1
    assert "A claim with margin 1 + seed." in out and "1.0000" in out
    assert "-0.2500" in out and "FAILED in 2/4" in out
    assert "claims: 1 passed, 1 failed" in out
