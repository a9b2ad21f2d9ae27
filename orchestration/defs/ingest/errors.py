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
    """Rows would be lost or invented: landed != loaded + quarantined (+ suppressed) for a file."""

    def __init__(self, relative_path: str, landed: int, loaded: int, quarantined: int, suppressed: int = 0):
        self.relative_path = relative_path
        accounted = loaded + quarantined + suppressed
        parts = f"{loaded} loaded + {quarantined} quarantined" + (f" + {suppressed} suppressed" if suppressed else "")
        super().__init__(
            f"{relative_path}: {landed} records landed but {parts} = {accounted}. Nothing from this file was "
            "committed. Fix: open the file at the records around the difference (a stray quote or a line break "
            "inside a field are the usual causes), correct or re-deliver it, then re-run the ingest."
        )


class RejectedFilesError(LandingFileError):
    """Files of a source whose rule is 'fail' were rejected; they have been moved aside."""

    def __init__(self, source: str, rejected: list):
        self.rejected = rejected
        first = rejected[0]
        Exception.__init__(
            self,
            f"{len(rejected)} '{source}' file(s) rejected and moved aside; the other files were loaded, but this "
            "source's rule is to fail the run so nothing downstream is built with a hole in it.\n"
            + "\n".join(f"- {r.source_file}: {r.problem}. Fix: {r.fix}. (now at {r.moved_to})" for r in rejected)
            + "\nAfter fixing, put the file back into its landing folder and re-run.",
        )
        self.relative_path, self.problem, self.fix = first.source_file, first.problem, first.fix
