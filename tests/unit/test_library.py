"""The masterclass library reaches the home and never overwrites a student's edits."""

from servicekit.library import sync, updated_name


def make_templates(root, **files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_first_start_copies_everything(tmp_path):
    tpl, home = tmp_path / "tpl", tmp_path / "home"
    make_templates(tpl, **{"01-shower/shower.ipynb": "v1", "02-knee/knee.ipynb": "k1"})
    report = sync(tpl, home)
    assert sorted(report["copied"]) == ["01-shower/shower.ipynb", "02-knee/knee.ipynb"]
    assert (home / "01-shower/shower.ipynb").read_text() == "v1"


def test_an_unedited_copy_follows_the_template(tmp_path):
    tpl, home = tmp_path / "tpl", tmp_path / "home"
    make_templates(tpl, **{"a.ipynb": "v1"})
    sync(tpl, home)
    make_templates(tpl, **{"a.ipynb": "v2"})
    assert sync(tpl, home)["updated"] == ["a.ipynb"]
    assert (home / "a.ipynb").read_text() == "v2"


def test_an_edited_copy_is_kept_and_the_new_template_arrives_beside_it(tmp_path):
    tpl, home = tmp_path / "tpl", tmp_path / "home"
    make_templates(tpl, **{"a.ipynb": "v1"})
    sync(tpl, home)
    (home / "a.ipynb").write_text("my answers")
    assert sync(tpl, home)["kept"] == ["a.ipynb"]
    make_templates(tpl, **{"a.ipynb": "v2"})
    assert sync(tpl, home)["beside"] == ["a.ipynb"]
    assert (home / "a.ipynb").read_text() == "my answers"
    assert updated_name(home / "a.ipynb").read_text() == "v2"
    # Nothing new next time: the edited copy stays, no repeated copies.
    assert sync(tpl, home)["kept"] == ["a.ipynb"]


def test_a_deleted_file_comes_back(tmp_path):
    tpl, home = tmp_path / "tpl", tmp_path / "home"
    make_templates(tpl, **{"a.ipynb": "v1"})
    sync(tpl, home)
    (home / "a.ipynb").unlink()
    assert sync(tpl, home)["copied"] == ["a.ipynb"]
