"""Errors that name the landing file, what is wrong and what to do about it."""

from __future__ import annotations


class LandingFileError(Exception):
    """A whole landing file cannot be loaded as delivered."""

    def __init__(self, relative_path: str, problem: str, fix: str):
        self.relative_path = relative_path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{relative_path}: {problem}. Fix: {fix}.")


class ReconciliationError(Exception):
    """Rows would be lost or invented: landed != loaded + quarantined for a file."""

    def __init__(self, relative_path: str, landed: int, loaded: int, quarantined: int):
        self.relative_path = relative_path
        super().__init__(
            f"{relative_path}: {landed} records landed but {loaded} loaded + {quarantined} quarantined "
            f"= {loaded + quarantined}. Nothing from this file was committed. Fix: open the file at the "
            "records around the difference (a stray quote or a line break inside a field are the usual causes), "
            "correct or re-deliver it, then re-run the ingest."
        )
