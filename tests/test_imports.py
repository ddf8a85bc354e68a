"""Every name the notebooks import still imports from where they import it.

Learners keep their own copies of the notebooks, saved with the imports of the
day. When a name moves inside mnistlib, its old path stays as a re-export, so
those copies keep working. The list below is what the notebooks (then 00 to 11, and
the live demo) imported when the package was reorganised; the notebooks of
today are read as well.
"""

import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (module, name): ``from module import name`` as the notebooks wrote it.
SAVED_IMPORTS = {
    "mnistlib": ["chooser_widget", "cnn", "conv", "demo", "descent_widget", "draw", "draw_widget",
                 "evaluate", "explorer_widget", "layers", "mlp", "model", "plots", "widgets"],
    "mnistlib.checks": [
        "check_best_class", "check_bowl_lr", "check_center_by_mass", "check_choose_recipe",
        "check_confusion_matrix", "check_conv_forward_loops", "check_example_gradients",
        "check_flatten", "check_gradient_descent", "check_gradients_loop", "check_gradients_vectorised",
        "check_he_init", "check_ink_box", "check_kernel_gradient", "check_log_softmax",
        "check_minibatch_epoch", "check_mlp_gradients", "check_nearest_mean_params",
        "check_numerical_gradient", "check_softmax", "check_update_step", "hint"],
    "mnistlib.conv_widget": ["feature_map_viewer", "feature_maps_update"],
    "mnistlib.data": ["load_mnist", "read_idx", "train_val_split"],
    "mnistlib.decay_widget": ["DECAY_VALUES", "weight_decay_explorer", "weight_decay_update"],
    "mnistlib.draw_widget": ["draw_digit", "draw_update"],
    "mnistlib.explorer_widget": ["prediction_explorer", "prediction_explorer_update"],
    "mnistlib.gradcheck": ["check_layer", "check_model", "numerical_gradient", "rel_error"],
    "mnistlib.hidden_widget": ["hidden_activations", "hidden_unit_update", "hidden_unit_viewer",
                               "strongest_unit"],
    "mnistlib.model": ["accuracy", "as_one_hot", "cross_entropy", "gradients", "init_params", "logits",
                       "predict", "softmax"],
    "mnistlib.plots": ["heatmap_tiles_png"],
    "mnistlib.train": ["DivergenceError", "Softmax", "accuracy_of", "step", "train"],
    "mnistlib.widgets": ["softmax_temperature"],
}

# Attributes the notebooks used on modules they imported whole (``from mnistlib import plots``).
SAVED_ATTRIBUTES = {
    "plots": ["contributions_figure", "digit_grid", "loss_curve", "probability_bars", "weight_heatmaps"],
    "model": ["cross_entropy"],
    "descent_widget": ["BOWLS", "descent_explorer", "paths_figure"],
    "widgets": ["batch_size_explorer", "batch_size_explorer_update", "live_heatmaps", "lr_explorer"],
    "evaluate": ["add_noise", "confusion_figure", "confusion_matrix", "contributions",
                 "coverage_at_thresholds", "coverage_figure", "most_confident_mistakes",
                 "per_class_accuracy", "robustness_curve", "robustness_figure", "rotate", "shift"],
    "draw": ["center_of_mass", "digit_strokes", "preprocess", "preprocess_steps", "render_strokes",
             "resize_area", "steps_figure", "strokes_from_image"],
    "layers": ["linear_backward", "linear_forward", "relu_backward", "relu_forward", "softmax_cross_entropy"],
    "mlp": ["N_HIDDEN", "RECIPE", "init_params", "logits", "loss_and_grads"],
    "conv": ["conv2d_backward", "conv2d_backward_loops", "conv2d_forward", "conv2d_forward_loops",
             "maxpool2d_backward", "maxpool2d_backward_loops", "maxpool2d_forward",
             "maxpool2d_forward_loops", "out_size"],
    "cnn": ["RECIPE", "init_params"],
    "demo": ["footer", "mark_ready", "model_bar", "projector_mode", "slot"],
    "chooser_widget": ["model_chooser"],
    "explorer_widget": ["prediction_explorer"],
    "draw_widget": ["draw_digit"],
}


def imports_in_todays_notebooks():
    """(module, name) for every ``from mnistlib... import ...`` in the stored notebooks."""
    found = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "demo" / "live_demo.ipynb"]:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            for m in re.finditer(r"^\s*from (mnistlib[\w.]*) import \(?([^)\n]*(?:\n[^)\n]*)*?)\)?\s*$",
                                 source, re.M):
                found.update((m.group(1), n.strip()) for n in m.group(2).replace("\n", " ").split(",")
                             if n.strip())
    return found


ALL_IMPORTS = sorted({(m, n) for m, names in SAVED_IMPORTS.items() for n in names}
                     | imports_in_todays_notebooks())


@pytest.mark.parametrize("module, name", ALL_IMPORTS, ids=[f"{m}.{n}" for m, n in ALL_IMPORTS])
def test_what_the_notebooks_import_still_imports(module, name):
    assert hasattr(importlib.import_module(module), name) or importlib.import_module(f"{module}.{name}")


@pytest.mark.parametrize("module", sorted(SAVED_ATTRIBUTES))
def test_what_the_notebooks_use_of_a_module_is_still_there(module):
    mod = importlib.import_module(f"mnistlib.{module}")
    missing = [a for a in SAVED_ATTRIBUTES[module] if not hasattr(mod, a)]
    assert not missing, f"mnistlib.{module} lost {missing}"


def test_no_module_imports_a_private_name_of_another():
    """What one module shares with another is public: no ``from .x import _y``."""
    offenders = []
    for path in sorted((ROOT / "mnistlib").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^\s*from \.[\w.]* import \(?([^)\n]*(?:\n[^)\n]*)*?)\)?\s*$", text, re.M):
            names = [n.strip().split(" as ")[0] for n in m.group(1).replace("\n", " ").split(",")]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("_")
                          and not n.startswith("__")]
    assert not offenders, offenders
