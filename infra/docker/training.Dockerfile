# Container image for the functions whose dependencies (pandas, pyarrow, scipy, scikit-learn,
# skl2onnx, onnxruntime: ~500 MiB) exceed Lambda's 250 MB limit for zip packages: validate, train,
# evaluate, drift, batch. `sam build` builds one image per function (DockerBuildArgs FUNCTION);
# the local cloud reads this file to give each worker the same code and dependencies.
FROM public.ecr.aws/lambda/python:3.12

# Dependencies first (a cached layer), pinned by the project's lock file.
COPY requirements.lock /tmp/requirements.lock
COPY layers/core/requirements.txt /tmp/core-requirements.txt
COPY layers/training/requirements.txt /tmp/training-requirements.txt
RUN pip install --no-cache-dir -c /tmp/requirements.lock -r /tmp/core-requirements.txt -r /tmp/training-requirements.txt

# The domain core (the same package the core layer ships) and the function's handler.
COPY layers/core/lockgate ${LAMBDA_TASK_ROOT}/lockgate
ARG FUNCTION
COPY functions/${FUNCTION}/ ${LAMBDA_TASK_ROOT}/

CMD ["app.handler"]
