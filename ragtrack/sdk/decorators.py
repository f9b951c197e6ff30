"""``@ragtrack.track``: a function call becomes a run."""

from __future__ import annotations

import functools
import inspect
import json
import numbers
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from ragtrack.sdk.run import init

F = TypeVar("F", bound=Callable[..., Any])

_REPR_LIMIT = 200


@overload
def track(fn: F, /) -> F: ...


@overload
def track(
    fn: None = None, /, *, project: str | None = None, **init_kwargs: Any
) -> Callable[[F], F]: ...


def track(
    fn: F | None = None, /, *, project: str | None = None, **init_kwargs: Any
) -> F | Callable[[F], F]:
    """Run each call of the decorated function as a ragtrack run.

    The call's arguments (defaults included) become the run's config; numeric
    values of a returned dict are logged as metrics and become the summary. An
    exception marks the run ``failed`` with its traceback and propagates.
    Inside the function, :func:`ragtrack.current_run` returns the run.

    Example:
        >>> import ragtrack, tempfile
        >>> d = tempfile.mkdtemp()
        >>> @ragtrack.track(project="rag-search", dir=d, capture=False)
        ... def train(lr=1e-3, epochs=3):
        ...     return {"recall@10": 0.61}
        >>> train(lr=0.01)
        {'recall@10': 0.61}
        >>> ragtrack.Api(dir=d).runs("rag-search")[0].params
        {'lr': 0.01, 'epochs': 3}
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            config = _config_from_arguments(bound.arguments, signature)
            kw = {"name": None, **init_kwargs}
            with init(project=project, config=config, **kw) as run:
                result = func(*args, **kwargs)
                if isinstance(result, Mapping):
                    metrics = {
                        k: v
                        for k, v in result.items()
                        if isinstance(k, str) and isinstance(v, numbers.Real)
                    }
                    if metrics:
                        run.log(metrics)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def _config_from_arguments(
    arguments: Mapping[str, Any], signature: inspect.Signature
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, value in arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            for k, v in value.items():
                config[k] = _param_value(v)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            config[name] = [_param_value(v) for v in value]
        else:
            config[name] = _param_value(value)
    return config


def _param_value(value: Any) -> Any:
    """The value itself when it can be stored as JSON, else a short repr of it,
    so that passing a dataset or model object does not break the run."""
    try:
        json.dumps(value, allow_nan=True)
        return value
    except (TypeError, ValueError):
        text = repr(value)
        return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."
