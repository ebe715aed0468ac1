# Sourced by the sessions' device scripts on the GPU machine, from the repo root: installs the
# carried wheels (.whl) beside the image's torch and Triton, sets the environment every stage
# runs in, and prints the card and versions the logs are read against. The machine's copy of
# the tree has no reliable git HEAD: the caller names the tree it sent.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TRITON_INTERPRET=0
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
