"""Container image functions on the local cloud: the Dockerfile decides what a worker can import."""

from __future__ import annotations

from pathlib import Path

import pytest
from localcloud.image import build_local_image
from localcloud.template import TemplateError

ROOT = Path(__file__).resolve().parents[2]


def test_the_training_image_gets_its_handler_the_core_package_and_its_requirements(tmp_path: Path) -> None:
    metadata = {
        "Dockerfile": "infra/docker/training.Dockerfile",
        "DockerContext": ".",
        "DockerBuildArgs": {"FUNCTION": "train"},
    }
    image = build_local_image(root=ROOT, logical_id="TrainFunction", metadata=metadata, build_dir=tmp_path)
    task_root = Path(image.code_paths[0])
    assert sorted(p.name for p in task_root.iterdir()) == ["app.py", "lockgate"]
    assert (task_root / "app.py").resolve() == ROOT / "functions" / "train" / "app.py"
    assert image.handler == "app.handler"
    deps = {p.name for path in image.code_paths[1:] for p in Path(path).iterdir()}
    assert {"sklearn", "pandas", "skl2onnx", "onnxruntime", "aws_lambda_powertools"} <= deps
    assert "moto" not in deps and "pytest" not in deps  # only what the image installs


@pytest.mark.parametrize(
    ("dockerfile", "needle"),
    [
        ('FROM python:3.12\nCMD ["app.handler"]\n', "base image"),
        ("FROM public.ecr.aws/lambda/python:3.12\nRUN apt-get install -y curl\n", "RUN pip install"),
        ("FROM public.ecr.aws/lambda/python:3.12\nUSER nobody\n", "USER"),
        ("FROM public.ecr.aws/lambda/python:3.12\nRUN pip install -r /tmp/r.txt\n", "was not COPYed"),
    ],
)
def test_what_the_local_cloud_cannot_reproduce_fails_loudly(
    tmp_path: Path, dockerfile: str, needle: str
) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    with pytest.raises(TemplateError, match=needle):
        build_local_image(
            root=tmp_path, logical_id="Fn", metadata={"Dockerfile": "Dockerfile"}, build_dir=tmp_path / "b"
        )
