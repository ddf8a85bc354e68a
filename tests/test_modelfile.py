"""Model files checked whole (mnistlib.modelfile, through mnistlib.zoo): damaged, hostile and odd files.

The fuzz test changes one byte at a time across real model files (the three
models, trained briefly on made-up data) and asks the loader each time: the
verdict must be "accepted, bit-exact" (the very model that was saved) or
"rejected" with a line that names the file. Nothing else may escape.
"""

import io
import json
import os
import struct
import threading
import zipfile
from collections import Counter

import numpy as np
import pytest

from mnistlib import modelfile, zoo

from test_zoo import SHORT, fake_data, teachers_softmax

NAMES = ("softmax", "mlp", "cnn")
# One-byte changes per model: every byte that is not a parameter's number is as likely to be
# picked as any other (the zip's and the .npy's headers, the description, the sha256), and as
# many again among the numbers.
CASES_PER_MODEL = 1000


@pytest.fixture(autouse=True)
def fresh_session():
    zoo.forget()
    yield
    zoo.forget()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{name: (data, the Trained as saved, its file's bytes)}: each model trained once into a cache."""
    cache = tmp_path_factory.mktemp("cache")
    data = fake_data()
    zoo.forget()
    models = {name: zoo.trained(name, data, recipe=SHORT, cache_dir=cache, say=None) for name in NAMES}
    zoo.forget()
    return {name: (data, m, m.path.read_bytes()) for name, m in models.items()}


def spec_of(name, data):
    images = zoo._fingerprint(data)
    return zoo._spec(name, SHORT, 0, "other", images), images


def load(name, data, path):
    """The loader's verdict on the file at path: ("accepted", Trained) or ("rejected", the line it said)."""
    spec, images = spec_of(name, data)
    try:
        got = zoo.read_model_file(path, name, spec, images)
    except zoo.CacheFileError:
        said = []
        assert zoo.cached(name, data, recipe=SHORT, cache_dir=path.parent.parent, say=said.append) is None
        assert len(said) == 1, said
        return "rejected", said[0]
    return "accepted", got


def assert_bit_exact(got, saved_model):
    assert sorted(got.params) == sorted(saved_model.params)
    for k, v in saved_model.params.items():
        assert got.params[k].dtype == np.float32 and got.params[k].shape == v.shape
        assert got.params[k].tobytes() == np.asarray(v, np.float32).tobytes(), k
    assert (got.val_acc, got.seconds, got.recipe) == (saved_model.val_acc, saved_model.seconds, saved_model.recipe)


def number_bytes(blob):
    """The offsets of the bytes that hold the parameters' numbers (all the rest is structure)."""
    numbers = np.zeros(len(blob), bool)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for info in zf.infolist():
            if not info.filename.startswith("param."):
                continue
            start = info.header_offset + 30 + sum(struct.unpack("<HH", blob[info.header_offset + 26:
                                                                           info.header_offset + 30]))
            header = 10 + struct.unpack("<H", blob[start + 8:start + 10])[0]       # .npy version 1.0
            numbers[start + header:start + info.file_size] = True
    return np.flatnonzero(numbers), np.flatnonzero(~numbers)


def reason(line):
    """What the loader found wrong, in a few words, for the fuzz test's statistics."""
    for words, short in [("Bad CRC-32", "the zip's CRC"), ("do not match its sha256", "the sha256"),
                         ("it holds the entries", "entry names"), ("File name in directory", "entry names"),
                         ("is compressed", "compressed"), ("bytes", "sizes"), ("expected", "array header")]:
        if words in line:
            return short
    return "the zip reader: " + line.split("model file (")[-1].split(":")[0]


# --- the fuzz test ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_one_changed_byte_anywhere_is_accepted_bit_exact_or_rejected_with_the_file_named(saved, name, tmp_path):
    data, model, blob = saved[name]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    path.write_bytes(blob)
    rng = np.random.default_rng(list(NAMES).index(name))
    numbers, structure = number_bytes(blob)
    half = CASES_PER_MODEL // 2
    positions = np.concatenate([rng.choice(structure, min(half, len(structure)), replace=False),
                                rng.choice(numbers, CASES_PER_MODEL - min(half, len(structure)), replace=False)])
    verdicts, reasons, escaped = Counter(), Counter(), []
    with open(path, "r+b") as f:
        for i, pos in enumerate(positions):
            # half of the changes flip one bit, the others set the byte to another value
            change = 1 << int(rng.integers(8)) if i % 2 else int(rng.integers(1, 256))
            os.pwrite(f.fileno(), bytes([blob[pos] ^ change]), int(pos))
            try:
                verdict, what = load(name, data, path)
            except Exception as e:  # noqa: BLE001 - the test counts what escapes
                escaped.append((int(pos), change, f"{type(e).__name__}: {e}"))
            else:
                verdicts[verdict] += 1
                if verdict == "accepted":
                    assert_bit_exact(what, model)
                else:
                    assert what.startswith(f"{zoo.TITLES[name]}: the file {path} in the cache is damaged"), what
                    assert what.isprintable(), what                  # one line, whatever the damage
                    reasons[reason(what)] += 1
            os.pwrite(f.fileno(), blob[pos:pos + 1], int(pos))
    print(f"\n{name}: {len(positions)} one-byte changes ({min(half, len(structure))} of {len(structure)} "
          f"structure bytes, the rest among {len(numbers)} number bytes): {dict(verdicts)}; "
          f"escaped {len(escaped)}; reasons {dict(reasons.most_common())}")
    assert escaped == [], escaped[:5]
    assert sum(verdicts.values()) == len(positions)
    assert verdicts["rejected"] >= len(positions) * 0.9        # most bytes matter
    # and the file, restored, is the model again
    assert_bit_exact(load(name, data, path)[1], model)


# --- the cases, each by itself ------------------------------------------------------------

def entry_start(blob, entry):
    """The offset of the .npy file ``entry`` (e.g. "param.W.npy") inside the model file's bytes."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        info = zf.getinfo(entry)
    offset = info.header_offset
    return offset + 30 + sum(struct.unpack("<HH", blob[offset + 26:offset + 30]))


def test_one_bit_of_the_header_length_no_longer_shifts_the_weights_unseen(saved, tmp_path):
    data, model, blob = saved["softmax"]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    start = entry_start(blob, "param.W.npy")
    damaged = bytearray(blob)
    damaged[start + 8] ^= 8             # the header is 8 bytes longer: numpy read W 2 floats later
    path.write_bytes(damaged)
    verdict, line = load("softmax", data, path)
    assert verdict == "rejected" and str(path) in line, line


def test_a_weight_changed_in_a_zip_whose_crcs_are_right_is_found_by_the_sha256(saved, tmp_path):
    data, model, _ = saved["softmax"]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    entries = good_entries(model)
    W = bytearray(entries["param.W.npy"])
    W[-4:] = np.float32(1.5).tobytes()             # the last weight, in a zip written anew
    entries["param.W.npy"] = bytes(W)
    path.write_bytes(npz(entries))
    verdict, line = load("softmax", data, path)
    assert verdict == "rejected", line
    assert line.endswith("its contents do not match its sha256: it changed after it was written; "
                         "it is trained again when it is asked for")


def test_a_changed_header_character_names_the_file_and_trains_it_again(saved, tmp_path):
    # The "{" of the CNN's first kernel made numpy raise tokenize.TokenError.
    data, model, blob = saved["cnn"]
    cache = tmp_path / "cache"
    path = cache / "models" / model.path.name
    path.parent.mkdir(parents=True)
    start = entry_start(blob, "param.K1.npy")
    header = blob[start:start + 128]
    damaged = bytearray(blob)
    damaged[start + header.index(b"{")] = ord("(")
    path.write_bytes(damaged)
    said = []
    again = zoo.trained("cnn", data, recipe=SHORT, cache_dir=cache, say=said.append)
    assert said == [f"the CNN: the file {path} in the cache is damaged or out of date: it cannot be read as a "
                    f"model file ({said[0].split('model file (')[1].split(')')[0]}); training it again"]
    assert again.source == "trained" and again.path == path
    zoo.forget()
    assert zoo.trained("cnn", data, recipe=SHORT, cache_dir=cache).source == "cache"


DAMAGED_AT_HALF = {"softmax": "W", "mlp": "W1", "cnn": "W3"}      # the array in the middle of the file


@pytest.mark.parametrize("name", NAMES)
def test_each_model_damaged_is_named_in_one_line_trained_again_and_replaced(saved, name, tmp_path):
    data, model, blob = saved[name]
    cache = tmp_path / "cache"
    path = cache / "models" / model.path.name
    path.parent.mkdir(parents=True)
    damaged = bytearray(blob)
    damaged[len(blob) // 2] ^= 1                   # one bit among the numbers
    path.write_bytes(damaged)
    said = []
    again = zoo.trained(name, data, recipe=SHORT, cache_dir=cache, say=said.append)
    # (the zip's CRC of the entry finds this one before the sha256 does)
    assert len(said) == 1 and said[0].startswith(f"{zoo.TITLES[name]}: the file {path} in the cache is damaged")
    assert said[0].endswith("Bad CRC-32 for file 'param.%s.npy'); training it again" % DAMAGED_AT_HALF[name])
    assert again.source == "trained" and again.path == path and again.note
    zoo.forget()
    loaded = zoo.trained(name, data, recipe=SHORT, cache_dir=cache)
    assert loaded.source == "cache"
    assert_bit_exact(loaded, again)


STUDENT = """
from mnistlib import zoo
from mnistlib.data import load_mnist
data = load_mnist(download=False, verbose=False)
m = zoo.trained("softmax", data, recipe=dict(lr=0.5, epochs=1, batch_size=50, schedule="linear"))
print(m.source, m.path, f"{m.val_acc:.3f}")
"""


def test_a_damaged_file_in_a_read_only_cache_is_trained_for_the_session_and_left_alone(
        shared_dir, subset_mnist, as_student):
    teachers, prepared = teachers_softmax(shared_dir, subset_mnist)
    damaged = bytearray(prepared.path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x40
    prepared.path.write_bytes(damaged)
    for d in (teachers, teachers / "models"):
        d.chmod(0o555)
    r = as_student("-c", STUDENT, env={"MNISTLIB_CACHE_DIR": str(teachers)})
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"softmax regression: the file {prepared.path} in the cache is damaged")
    assert lines[0].endswith("; training it again")
    assert lines[1].startswith(f"softmax regression: cannot save it in the cache {teachers / 'models'} "
                               "(Permission denied); it is kept for this session only")
    assert lines[2].startswith("trained None ") and len(lines) == 3
    assert prepared.path.read_bytes() == damaged


# --- hostile and odd files ---------------------------------------------------------------------

def in_time(fn, seconds=30):
    """fn() in a thread; fails if it has not returned within ``seconds`` (a loader that hangs)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return out[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_in_a_model_files_place_is_not_opened_and_is_replaced(saved, tmp_path):
    data, model, _ = saved["softmax"]
    cache = tmp_path / "cache"
    path = cache / "models" / model.path.name
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    opened = threading.Event()

    def writer():                        # blocks until someone opens the FIFO for reading
        os.close(os.open(path, os.O_WRONLY))
        opened.set()

    threading.Thread(target=writer, daemon=True).start()
    said = []
    assert in_time(lambda: zoo.cached("softmax", data, recipe=SHORT, cache_dir=cache, say=said.append)) is None
    assert said == [f"softmax regression: the file {path} in the cache is damaged or out of date: it is a FIFO "
                    "(named pipe), not a file (it was not opened); it is trained again when it is asked for"]
    assert not opened.wait(0.5), "the loader opened the FIFO"
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))     # let the writer go
    assert opened.wait(10)
    again = in_time(lambda: zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache, say=None))
    assert again.source == "trained" and path.is_file()


def test_a_device_in_a_model_files_place_is_not_read(saved, tmp_path):
    data, model, _ = saved["mlp"]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    path.symlink_to("/dev/zero")          # endless zeros to anyone who reads it
    verdict, line = in_time(lambda: load("mlp", data, path))
    assert verdict == "rejected" and "it is a character device, not a file (it was not opened)" in line


def npz(entries, deflated=()):
    """A zip of .npy entries {name: bytes, or a list of byte strings written one after another};
    stored, or deflated for the names in ``deflated``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, parts in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=True) as f:
                for part in ([parts] if isinstance(parts, bytes) else parts):
                    f.write(part)
    return buffer.getvalue()


def npy_header(shape, descr="<f4"):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def good_entries(model):
    """The entries of the model's real file, as {name: bytes}."""
    with zipfile.ZipFile(io.BytesIO(model.path.read_bytes())) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def peak_memory_of(fn):
    import tracemalloc
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_small_file_whose_weights_unpack_to_1_gb_is_rejected_before_it_is_unpacked(saved, tmp_path):
    data, model, _ = saved["softmax"]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    # W deflated: a header announcing 1 GB of float32, then 1 GB of zeros: some 1 MB on disk
    entries = good_entries(model)
    gigabyte = 1 << 30
    entries["param.W.npy"] = [npy_header((gigabyte // 40, 10))] + [bytes(1 << 20)] * (gigabyte >> 20)
    path.write_bytes(npz(entries, deflated={"param.W.npy"}))
    assert 500_000 < path.stat().st_size < 5_000_000
    (verdict, line), peak = peak_memory_of(lambda: load("softmax", data, path))
    assert verdict == "rejected" and "bytes, more than a model file of these shapes can be" in line, line
    assert peak < 20e6, f"{peak / 1e6:.0f} MB allocated to reject it"
    # within the size limit, a deflated entry is refused before it is unpacked
    entries = good_entries(model)
    path.write_bytes(npz(entries, deflated={"param.W.npy"}))
    verdict, line = load("softmax", data, path)
    assert verdict == "rejected" and "its param.W is compressed" in line, line


def test_a_header_announcing_a_huge_array_is_rejected_before_anything_is_allocated(saved, tmp_path):
    data, model, _ = saved["softmax"]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    entries = good_entries(model)
    entries["param.W.npy"] = npy_header((10**6, 10**6)) + bytes(64)
    path.write_bytes(npz(entries))
    (verdict, line), peak = peak_memory_of(lambda: load("softmax", data, path))
    assert verdict == "rejected", line
    assert "its param.W is float32 (1000000, 1000000); expected float32 (784, 10)" in line, line
    assert peak < 20e6


@pytest.mark.parametrize("depth", [200_000, 5_000])
def test_a_description_nested_deep_is_rejected(saved, tmp_path, depth):
    """200,000 lists deep is too large a description; 5,000 fits, with a right sha256 (a forger's)."""
    data, model, _ = saved["softmax"]
    path = tmp_path / "models" / model.path.name
    path.parent.mkdir()
    arrays = {"meta": np.array("[" * depth + "]" * depth),
              **{f"param.{k}": np.asarray(v, "<f4") for k, v in model.params.items()}}
    digest = modelfile._digest({k: (a.dtype, a.shape, a.tobytes()) for k, a in arrays.items()})
    np.savez(path, **arrays, sha256=np.array(digest, dtype="<U64"))
    verdict, line = load("softmax", data, path)
    assert verdict == "rejected", line
    assert ("more than a model file of these shapes can be" if depth > 10_000 else "RecursionError") in line, line


def test_ctrl_c_while_a_model_file_is_read_still_interrupts(saved, monkeypatch, tmp_path):
    data, model, blob = saved["softmax"]
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / model.path.name).write_bytes(blob)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(modelfile, "decode", interrupted)
    for load_it in (lambda: zoo.cached("softmax", data, recipe=SHORT, cache_dir=cache),
                    lambda: zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)):
        with pytest.raises(KeyboardInterrupt):
            load_it()


def test_every_exception_from_reading_is_caught_whatever_its_class(saved, monkeypatch, tmp_path):
    data, model, blob = saved["softmax"]
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    path = cache / "models" / model.path.name
    path.write_bytes(blob)
    for error in (NotImplementedError("zip version needed"), RuntimeError("encrypted"), MemoryError(),
                  RecursionError("deep"), SyntaxError("header"), OSError(5, "Input/output error")):

        def decode(*args, error=error):
            raise error

        monkeypatch.setattr(modelfile, "decode", decode)
        said = []
        assert zoo.cached("softmax", data, recipe=SHORT, cache_dir=cache, say=said.append) is None
        assert len(said) == 1 and str(path) in said[0] and type(error).__name__ in said[0], said


def test_model_files_are_no_larger_than_the_limit_and_open_with_numpy(saved):
    for name, (_, model, blob) in saved.items():
        shapes = {k: v.shape for k, v in model.params.items()}
        assert len(blob) <= modelfile.max_size(shapes)
        with np.load(model.path) as npz_file:        # still an .npz for anyone who wants to look
            assert json.loads(str(npz_file["meta"]))["val_acc"] == model.val_acc
            assert np.array_equal(npz_file[f"param.{next(iter(shapes))}"], model.params[next(iter(shapes))])
