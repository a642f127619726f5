"""Atomic, locked runs: an output folder holds a whole run or the previous one, and one process writes it.

The mechanism (``pna.runlock``) is tested on small folders; four ``pna run`` subprocesses on the
real Leicester config check the command: stopped by SIGINT or SIGTERM once it is writing, or
refused at once (lock held, output folder impossible).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pna import pipeline
from pna.config import load_config
from pna.runlock import (
    Interrupted,
    OutputError,
    _signals_deferred,
    atomic_output,
    lock_path,
    output_lock,
    scratch_output,
)

ROOT = Path(__file__).resolve().parents[1]


def _siblings(out: Path) -> list[str]:
    """Everything beside ``out`` whose name starts with it, other than ``out`` itself."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name) and p != out)


def _previous_run(out: Path) -> Path:
    out.mkdir(parents=True)
    (out / "run.json").write_text("{}\n")
    (out / "marker.txt").write_text("previous run\n")
    return out


# --------------------------------------------------------------------------- the mechanism
def test_a_completed_block_replaces_the_folder_whole(tmp_path):
    out = _previous_run(tmp_path / "out")
    with output_lock(out), atomic_output(out) as tmp:
        assert tmp.parent == out.parent and tmp.name == f"out.tmp-{os.getpid()}" and not any(tmp.iterdir())
        assert (out / "marker.txt").is_file()   # the previous run stays readable meanwhile
        (tmp / "new.csv").write_text("a\n")
    assert sorted(p.name for p in out.iterdir()) == ["new.csv"]   # nothing of the earlier run survives
    assert _siblings(out) == []


def test_a_linked_output_folder_keeps_its_link(tmp_path):
    real = _previous_run(tmp_path / "disk" / "pna")
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    with output_lock(link) as lock, atomic_output(link) as tmp:
        assert lock.parent == tmp.parent == real.parent   # beside the real folder, so the rename is atomic
        (tmp / "new.csv").write_text("a\n")
    assert link.is_symlink() and sorted(p.name for p in link.iterdir()) == ["new.csv"]
    assert _siblings(real) == [] and _siblings(link) == []


def test_a_failed_block_leaves_the_previous_run_untouched(tmp_path):
    out = _previous_run(tmp_path / "out")
    with pytest.raises(ValueError, match="boom"), output_lock(out), atomic_output(out) as tmp:
        (tmp / "half.csv").write_text("a\n")
        raise ValueError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["marker.txt", "run.json"]
    assert _siblings(out) == []


@pytest.mark.parametrize("stop, code, word", [(KeyboardInterrupt(), 130, "interrupted"),
                                               (Interrupted(143, "terminated"), 143, "terminated")])
def test_an_interruption_says_the_previous_outputs_are_unchanged(tmp_path, stop, code, word):
    out = _previous_run(tmp_path / "out")
    with pytest.raises(Interrupted) as info, output_lock(out), atomic_output(out):
        raise stop
    assert info.value.code == code
    assert info.value.message == f"{word}; the previous outputs in {out} are unchanged"
    assert (out / "marker.txt").is_file() and _siblings(out) == []


def test_an_interrupted_first_run_leaves_nothing(tmp_path):
    out = tmp_path / "fresh" / "out"
    with pytest.raises(Interrupted, match="nothing was written"), output_lock(out), atomic_output(out) as tmp:
        (tmp / "half.csv").write_text("a\n")
        raise KeyboardInterrupt
    assert not out.exists() and _siblings(out) == []


def test_the_lock_refuses_a_second_holder_and_is_removed_after(tmp_path):
    out = tmp_path / "out"
    with output_lock(out) as lock:
        assert lock == lock_path(out) == tmp_path / "out.lock"
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(OutputError, match="in use by another pna process") as info, output_lock(out):
            pass
        assert str(lock) in str(info.value) and "\n" not in str(info.value)
    assert not lock.exists()


def test_a_stale_lock_is_taken_over_with_a_message(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    lock_path(out).write_text(f"{dead.pid}\n")   # left by a killed run: nobody holds the flock
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("pna")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with output_lock(out) as lock:
            assert lock.read_text().strip() == str(os.getpid())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any("stale lock" in m and str(dead.pid) in m for m in records)
    assert not lock_path(out).exists()


def test_leftovers_of_killed_runs_are_swept(tmp_path):
    out = _previous_run(tmp_path / "out")
    (tmp_path / "out.tmp-99991").mkdir()
    (tmp_path / "out.old-99992").mkdir()
    (tmp_path / "out.tmp-notes").mkdir()   # not ours: the suffix is no pid
    with output_lock(out):
        pass
    assert _siblings(out) == ["out.tmp-notes"]


def test_a_kill_between_the_renames_is_repaired(tmp_path):
    out = _previous_run(tmp_path / "out")
    out.rename(tmp_path / "out.old-99993")   # the previous run, renamed aside; the new one never arrived
    with output_lock(out):
        pass
    assert (out / "marker.txt").is_file() and _siblings(out) == []


def test_a_folder_that_is_not_pna_outputs_is_never_replaced(tmp_path):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "letter.txt").write_text("mine\n")
    with pytest.raises(OutputError, match="not pna outputs"), atomic_output(out):
        pass
    assert (out / "letter.txt").is_file() and _siblings(out) == []
    with pytest.raises(OutputError, match="refusing"), atomic_output(tmp_path, keep=[tmp_path / "data"]):
        pass
    with pytest.raises(OutputError, match="refusing"), atomic_output(Path.cwd()):
        pass


def test_an_output_folder_that_cannot_be_made_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder") as info, \
            output_lock(tmp_path / "file" / "out"):
        pass
    assert "\n" not in str(info.value)
    with pytest.raises(OutputError, match="is not a folder"), output_lock(tmp_path / "file"):
        pass


def test_signals_are_held_until_the_block_ends():
    reached = False
    with pytest.raises(KeyboardInterrupt):
        with _signals_deferred():
            signal.raise_signal(signal.SIGINT)
            reached = True
    assert reached


def test_scratch_folder_is_always_removed(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError), scratch_output(out) as scratch:
        (scratch / "rasters").mkdir()
        raise ValueError
    assert not out.exists() and _siblings(out) == []


def test_run_writes_through_a_temporary_folder(tmp_path, monkeypatch):
    cfg = load_config(ROOT / "config" / "leicester.yaml", output_dir=tmp_path / "out", check_inputs=False)
    out = _previous_run(cfg.out)
    seen: list[Path] = []

    def failing(c):
        seen.append(c.out)
        (c.out / "tables").mkdir()
        raise OutputError("disk full")

    monkeypatch.setattr(pipeline, "_write_run", failing)
    with pytest.raises(OutputError, match="disk full"):
        pipeline.run(cfg)
    assert seen == [tmp_path / f"out.tmp-{os.getpid()}"]
    assert sorted(p.name for p in out.iterdir()) == ["marker.txt", "run.json"] and _siblings(out) == []


# --------------------------------------------------------------------------- the command
def _pna(out: Path, data_dir: Path) -> list[str]:
    exe = Path(sys.executable).with_name("pna")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "pna.pipeline"]
    return cmd + ["run", "--config", str(ROOT / "config" / "leicester.yaml"), "--output-dir", str(out),
                  "--data-dir", str(data_dir), "--quiet"]


def _stop_while_writing(out: Path, data_dir: Path, signum: int) -> tuple[int, str]:
    """Start ``pna run``, wait until it writes into its temporary folder, then send ``signum``."""
    proc = subprocess.Popen(_pna(out, data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tmp = out.with_name(f"{out.name}.tmp-{proc.pid}")
    deadline = time.monotonic() + 60
    while not tmp.is_dir() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)   # into the first stage; the run takes 20 s or more, so it is still going
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    return proc.returncode, err


def _said(err: str) -> list[str]:
    """stderr without the ``[pna]`` log lines (warnings still show under --quiet)."""
    return [line for line in err.splitlines() if not line.startswith("[pna] ")]


def test_ctrl_c_on_a_first_run_leaves_nothing(tmp_path, data_dir):
    out = tmp_path / "out"
    code, err = _stop_while_writing(out, data_dir, signal.SIGINT)
    assert code == 130, err
    assert _said(err) == [f"pna: interrupted; nothing was written to {out}"]
    assert not out.exists() and _siblings(out) == []


def test_sigterm_keeps_the_previous_run(tmp_path, data_dir):
    out = _previous_run(tmp_path / "out")
    code, err = _stop_while_writing(out, data_dir, signal.SIGTERM)
    assert code == 143, err
    assert _said(err) == [f"pna: terminated; the previous outputs in {out} are unchanged"]
    assert (out / "marker.txt").read_text() == "previous run\n" and _siblings(out) == []


def test_a_second_run_into_a_locked_folder_exits_2(tmp_path, data_dir):
    out = tmp_path / "out"
    with output_lock(out) as lock:
        proc = subprocess.run(_pna(out, data_dir), capture_output=True, text=True, timeout=60)
        assert lock.is_file()   # still ours
    assert proc.returncode == 2
    lines = _said(proc.stderr)
    assert len(lines) == 1 and str(lock) in lines[0] and str(os.getpid()) in lines[0], proc.stderr
    assert not out.exists() and _siblings(out) == []


def test_an_impossible_output_folder_exits_2(tmp_path, data_dir):
    (tmp_path / "file").write_text("x")
    proc = subprocess.run(_pna(tmp_path / "file" / "out", data_dir), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert _said(proc.stderr) == [
        f"error: {tmp_path / 'file' / 'out'}: cannot create the output folder ({tmp_path / 'file'} is a file)"]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_run_killed_at_a_random_point_leaves_the_previous_run_or_nothing(tmp_path, data_dir, seed):
    rng = random.Random(seed)
    delay = rng.uniform(0.3, 7.0)   # from start-up (imports) into the stages
    first = rng.random() < 0.5
    out = tmp_path / "out" if first else _previous_run(tmp_path / "out")
    proc = subprocess.Popen(_pna(out, data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.kill()   # SIGKILL: no handler runs, as when the machine stops
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"run ended before the kill at {delay:.1f} s"
    if first:
        assert not out.exists(), f"killed at {delay:.1f} s, a first run left {sorted(os.listdir(out))}"
    else:
        assert sorted(os.listdir(out)) == ["marker.txt", "run.json"], f"killed at {delay:.1f} s"
        assert (out / "marker.txt").read_text() == "previous run\n"
    # Whatever the kill left beside the folder is scratch or a lock, never a folder named like a run.
    assert all(".tmp-" in name or name.endswith(".lock") for name in _siblings(out)), _siblings(out)


def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path, data_dir):
    out = tmp_path / "out"
    proc = subprocess.Popen(_pna(out, data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)   # still importing the scientific stack
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    said = _said(err)
    assert len(said) == 1 and said[0].startswith("pna: interrupted") and "nothing was written" in said[0], err
    assert not out.exists()
