from tests.helpers.trial_file import make_trial


def test_helpers_import_under_importlib_mode(tmp_path):
    assert make_trial(tmp_path)["version"] == 1
