"""Exceptions a pipeline author meets; each carries a one-line user message."""

from __future__ import annotations


class CurateError(Exception):
    """Base of the errors a user can fix; `str()` is a one-line message with what to do."""


class InvalidResourceError(CurateError, ValueError):
    """A `CuratorStageResource` was given impossible CPU or GPU numbers."""


class StageDefinitionError(CurateError, TypeError):
    """A stage class or stage spec is malformed (e.g. a worker count of zero)."""


class PipelineExecutionError(CurateError):
    """The run stopped: a task failed every attempt at a stage that does not ignore failures.

    Same constructor, attributes and `str()` shape as upstream Cosmos-Curate's class:
    `message`, `original_error` (the exception `process_data` raised, rebuilt on the driver,
    or a `TaskFailedError` standing in for one that could not travel), and
    `str() == "<message> (Original error: <original_error>)"`. The runtime also fills
    `stage`, `task_repr` and `failures_path` (where the failure records were written).
    """

    def __init__(
        self,
        message: str,
        original_error: BaseException | None = None,
        *,
        stage: str | None = None,
        task_repr: str | None = None,
        failures_path: str | None = None,
    ) -> None:
        self.message = message
        self.original_error = original_error
        self.stage = stage
        self.task_repr = task_repr
        self.failures_path = failures_path
        super().__init__(message)

    def __str__(self) -> str:
        if self.original_error is not None:
            return f"{self.message} (Original error: {self.original_error!s})"
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only fields survive pickling (Ray and multiprocessing re-raise copies).
        return (_rebuild_execution_error, (type(self), self.__dict__.copy()))


def _rebuild_execution_error(
    cls: type[PipelineExecutionError], state: dict[str, object]
) -> PipelineExecutionError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class TaskFailedError(CurateError, RuntimeError):
    """Stands in for a worker's exception that could not be rebuilt on the driver.

    `str()` is the worker's `"ExceptionType: message"` line.
    """
