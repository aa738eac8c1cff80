"""The number format of the layers: float32, or mixed precision where the hardware pays.

Mixed precision computes the layers in 16 bits and keeps the weights in float32. bfloat16
has float32's range, so it needs no loss scaling; float16 would need it inside every lesson's
step (small gradients underflow), where it has no place: it is not offered. `--precision
auto` picks bfloat16 on GPUs of compute capability 8 or more and on CPUs with AMX or
AVX512-BF16, else float32; a policy named on the command line is used as given. The last
layer and every loss stay float32 whatever the policy, and so do the gradient penalty's
interpolates, norm and value (the critic's own pass inside it runs in the policy's type).
`save_float32` writes the exported generator in float32 whatever the policy.
"""

import keras
import tensorflow as tf

from common import devices, files


def cpu_has_bfloat16():
    """True where the CPU computes bfloat16 in hardware (AMX or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo") as file:
            flags = file.read()
    except OSError:  # not Linux: no way to tell, so no
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def choose_with_reason(name):
    """Resolve 'auto' to a policy for this machine; returns (policy, why)."""
    if name != "auto":
        return name, "as asked"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        if (details.get("compute_capability") or (0, 0))[0] >= 8:
            return "mixed_bfloat16", "a GPU with bfloat16 tensor cores"
        return "float32", "a GPU without bfloat16 (float16 would need loss scaling)"
    if cpu_has_bfloat16():
        return "mixed_bfloat16", "a CPU with bfloat16 instructions (AMX or AVX512-BF16)"
    # Measured on a 2-core AMD EPYC (Zen 3) without them: mixed_bfloat16 ran the DCGAN step
    # many times slower than float32 (docs/performance.md).
    return "float32", "this CPU has no bfloat16 instructions, where 16-bit math is slower"


def choose(name):
    return choose_with_reason(name)[0]


def set_policy(name):
    """Set Keras's global dtype policy; returns the policy name actually in force."""
    chosen, why = choose_with_reason(name)
    if name == "auto":
        print(f"--precision auto: {chosen} ({why})")
    keras.mixed_precision.set_global_policy(chosen)
    return chosen


def float32_copy(model):
    """A copy of the model, weights and all, whose every layer computes in float32: the
    generator.keras of a mixed-precision run would otherwise compute in bfloat16 wherever it is
    loaded (ten times slower on a CPU without bfloat16), and would not draw what `sample`, which
    restores the checkpoint in float32, draws (tests/test_scripts.py: within 1e-5)."""

    def in_float32(layer):
        return layer.__class__.from_config(dict(layer.get_config(), dtype="float32"))

    copy = keras.models.clone_model(model, clone_function=in_float32)
    copy.set_weights(model.get_weights())
    return copy


def save_float32(generator, path):
    """Save the generator as `path` (generator.keras) in float32 (see float32_copy), in a file
    that keras.models.load_model reads without this code; written under a temporary name
    first, so a kill never leaves half a file."""
    with files.replacing(path) as temporary, devices.this_worker_only():
        float32_copy(generator).save(temporary)
    return path
