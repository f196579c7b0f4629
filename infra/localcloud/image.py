"""Container image functions on the local cloud, from their Dockerfile.

`sam build` builds an image per ``PackageType: Image`` function from the ``Dockerfile`` and
``DockerContext`` in its ``Metadata``. Locally there is no Docker, so the Dockerfile is read
instead: ``COPY`` into ``${LAMBDA_TASK_ROOT}`` becomes a task-root folder of symlinks to the
sources (edits show on redeploy, as with zip functions), ``RUN pip install -r FILE`` becomes the
dependency folder those requirements resolve to (:mod:`localcloud.deps`), ``CMD`` is the handler.
The base image must be AWS's Python Lambda image. Any other instruction fails loudly: the local
cloud cannot promise it would behave like the image.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import deps
from localcloud.template import TemplateError

TASK_ROOT = "/var/task"
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass(frozen=True)
class LocalImage:
    code_paths: list[str]
    handler: str | None


def _instructions(text: str) -> list[tuple[str, str]]:
    out, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        op, _, rest = line.partition(" ")
        out.append((op.upper(), rest.strip()))
    return out


def build_local_image(
    *, root: Path, logical_id: str, metadata: dict[str, Any], build_dir: Path
) -> LocalImage:
    dockerfile = (
        root / str(metadata.get("DockerContext", ".")) / str(metadata.get("Dockerfile", "Dockerfile"))
    )
    context = (root / str(metadata.get("DockerContext", "."))).resolve()
    if not dockerfile.is_file():
        raise TemplateError(f"{logical_id}: Dockerfile {dockerfile} does not exist")
    variables = {
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        **{k: str(v) for k, v in (metadata.get("DockerBuildArgs") or {}).items()},
    }

    def expand(value: str) -> str:
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)

    task_root = build_dir / "images" / logical_id
    shutil.rmtree(task_root, ignore_errors=True)
    task_root.mkdir(parents=True)
    copied: dict[str, Path] = {}  # container path -> source, for files copied outside the task root
    dep_paths: list[str] = []
    handler: str | None = None
    for op, rest in _instructions(dockerfile.read_text()):
        if op == "FROM":
            if not rest.startswith("public.ecr.aws/lambda/python"):
                raise TemplateError(f"{logical_id}: base image {rest} is not AWS's Python Lambda image")
        elif op == "ARG":
            name, _, default = rest.partition("=")
            variables.setdefault(name.strip(), default.strip())
        elif op == "COPY":
            *sources, dest = [expand(p) for p in shlex.split(rest)]
            for source in sources:
                src = (context / source).resolve()
                if not src.exists() or context not in (src, *src.parents):
                    raise TemplateError(f"{logical_id}: COPY source {source} is not in the Docker context")
                _copy(src, dest, task_root, copied, source_is_dir_contents=source.endswith("/"))
        elif op == "RUN":
            words = shlex.split(expand(rest))
            if words[:2] != ["pip", "install"]:
                raise TemplateError(
                    f"{logical_id}: the local cloud runs only `RUN pip install -r FILE`, not {rest!r}"
                )
            for i, word in enumerate(words):
                if word == "-r":
                    requirements = copied.get(words[i + 1])
                    if requirements is None:
                        raise TemplateError(f"{logical_id}: {words[i + 1]} was not COPYed before pip install")
                    built = deps.build_deps_dir(requirements, build_dir / "deps")
                    if built is not None:
                        dep_paths.append(str(built))
        elif op == "CMD":
            command = json.loads(rest)
            handler = command[0] if command else None
        elif op not in ("ENV", "WORKDIR", "LABEL"):
            raise TemplateError(
                f"{logical_id}: Dockerfile instruction {op} is not supported by the local cloud"
            )
    return LocalImage(code_paths=[str(task_root), *dep_paths], handler=handler)


def _copy(
    src: Path, dest: str, task_root: Path, copied: dict[str, Path], *, source_is_dir_contents: bool
) -> None:
    if not dest.startswith(TASK_ROOT):
        copied[dest] = src
        return
    relative = dest[len(TASK_ROOT) :].strip("/")
    target = task_root / relative if relative else task_root
    if src.is_dir() and (source_is_dir_contents or dest.endswith("/") or not relative):
        target.mkdir(parents=True, exist_ok=True)
        for child in src.iterdir():
            if child.name != "__pycache__":
                _link(child, target / child.name)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        _link(src, target)


def _link(src: Path, target: Path) -> None:
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(src)
