"""The search-efficiency benchmark's bookkeeping: the figures the README's targets are read from.

The arms themselves train models for an hour; here only the arithmetic on their results is
checked, on hand-made results whose answers are known.
"""
from benchmarks.search_efficiency import best_so_far, best_within, examples_to_reach, summarise


def result(arm, seed, trials, test, best_validation):
    return {"arm": arm, "seed": seed, "wall_seconds": 60.0,
            "trials": [{"number": i, "state": state, "value": value, "examples_seen": n}
                       for i, (state, value, n) in enumerate(trials)],
            "best": {"trial": 0, "validation": best_validation, "model_dir": "unused"},
            "test": {"mcc": test}}


RANDOM = result("random", 0, [("completed", 0.5, 100), ("completed", 0.8, 100),
                              ("completed", 0.7, 100)], test=0.75, best_validation=0.8)
DNAHPO = result("dnahpo", 0, [("completed", 0.1, 100), ("pruned", None, 20),
                              ("completed", 0.85, 100), ("failed", None, 5)],
                test=0.8, best_validation=0.85)
DEFAULT = result("default", 0, [("completed", 0.0, 150)], test=0.0, best_validation=0.0)


def test_best_so_far_counts_every_trial_and_ignores_pruned_and_failed_values():
    assert best_so_far(DNAHPO) == [(100, 0.1), (120, 0.1), (220, 0.85), (225, 0.85)]


def test_examples_to_reach_is_the_spend_when_the_target_is_first_met():
    assert examples_to_reach(DNAHPO, 0.8) == 220
    assert examples_to_reach(DNAHPO, 0.9) is None
    assert examples_to_reach(RANDOM, 0.8) == 200


def test_best_within_a_budget_counts_only_trials_finished_inside_it():
    assert best_within(RANDOM, 225) == 0.8
    assert best_within(RANDOM, 199) == 0.5
    assert best_within(RANDOM, 99) is None


def test_summary_reports_the_fraction_of_random_searchs_training_and_the_gain_over_default():
    table, summary = summarise([RANDOM, DNAHPO, DEFAULT], "mcc")
    assert summary["targets"]["fraction_of_random_examples_to_reach_its_best"] == [220 / 300]
    assert abs(summary["targets"]["test_dnahpo_minus_default"] - 0.8) < 1e-12
    assert summary["targets"]["fraction_of_random_examples_spent_in_all"] == [225 / 300]
    assert summary["arms"]["dnahpo"]["examples_spent"] == [225]
    assert "| dnahpo | 1 | 0.850 ± 0.000 | 0.800 ± 0.000 |" in table
    assert "| 73% | 75% | 0.800 |" in table  # 220 and 225 of random's 300; its best by 225
