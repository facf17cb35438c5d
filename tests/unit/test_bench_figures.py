"""How the benches sum up repeated runs: the event path's rounds (each ratio against the raw run of
its own round, then the median and its range), and what ``make bench`` runs more than once."""

from __future__ import annotations

from bench import billing_run, round_trip, run_all
from bench.pipeline import summarize


def test_each_ratio_is_taken_against_the_raw_run_of_its_own_round():
    rounds = [{"raw": 40_000.0, "batch": 20_000.0}, {"raw": 20_000.0, "batch": 14_000.0},
              {"raw": 30_000.0, "batch": 12_000.0}]

    figures = summarize(rounds)

    assert figures["ratios"] == {"batch": [0.5, 0.7, 0.4]}
    assert figures["ratio"] == {"batch": {"median": 0.5, "min": 0.4, "max": 0.7}}
    # the ratio of the medians would be 14,000 / 30,000 = 0.47: not what any round measured
    assert figures["events_per_s"]["batch"] == {"median": 14_000, "min": 12_000, "max": 20_000}
    assert figures["rounds"][1] == {"raw": 20_000, "batch": 14_000}


def test_one_round_is_its_own_median():
    figures = summarize([{"raw": 30_000.0, "batch": 15_000.0, "per-event": 3_000.0}])

    assert figures["ratio"] == {"batch": {"median": 0.5, "min": 0.5, "max": 0.5},
                                "per-event": {"median": 0.1, "min": 0.1, "max": 0.1}}


def test_make_bench_measures_the_aims_three_times_and_the_quick_check_once():
    def runs_of(quick: bool) -> dict[str, list[str]]:
        return dict(run_all.benches(quick))

    full, quick = runs_of(False), runs_of(True)

    assert full["pipeline 100k"][-2:] == ["--repeat", "3"] and full["pipeline 20k"][-2:] == ["--repeat", "3"]
    assert [name for name in full if name.startswith("http load 571/s")] == [
        "http load 571/s (1 of 3)", "http load 571/s (2 of 3)", "http load 571/s (3 of 3)"]
    assert full["billing run 1M"][-2:] == ["--repeat", "3"] and quick["billing run 1M"][-2:] == ["--repeat", "1"]
    assert quick["pipeline 100k"][-2:] == ["--repeat", "1"]
    assert [name for name in quick if name.startswith("http load 571/s")] == ["http load 571/s (1 of 1)"]
    assert all(args[0] in run_all.WRITES_JSON for name, args in full.items()
               if name.startswith(("pipeline", "http", "billing")))


def test_each_billing_ratio_is_taken_against_the_raw_statements_of_its_own_round():
    rounds = [{"run_s": 100.0, "raw_s": 50.0, "bills": 5, "lines": 9, "events": 5},
              {"run_s": 90.0, "raw_s": 30.0, "bills": 5, "lines": 9, "events": 5},
              {"run_s": 120.0, "raw_s": 40.0, "bills": 5, "lines": 9, "events": 5}]

    figures = billing_run.summarize(rounds)

    assert figures["ratios"] == [2.0, 3.0, 3.0]
    # the ratio of the medians would be 100 / 40 = 2.5: not what any round measured
    assert figures["ratio"] == {"median": 3.0, "min": 2.0, "max": 3.0}
    assert figures["run_s"] == {"median": 100.0, "min": 90.0, "max": 120.0}
    assert figures["raw_s"] == {"median": 40.0, "min": 30.0, "max": 50.0}
    assert figures["rounds"][2] == {"run_s": 120.0, "raw_s": 40.0, "bills": 5, "lines": 9, "events": 5}


def test_a_round_trips_figures_are_each_measures_median_and_range():
    rounds = [{"wall_us": 120.0, "client_cpu_us": 70.0, "server_cpu_us": 40.0},
              {"wall_us": 140.0, "client_cpu_us": 62.94, "server_cpu_us": 36.0},
              {"wall_us": 111.0, "client_cpu_us": 75.0, "server_cpu_us": 43.0}]

    assert round_trip.summarize(rounds) == {
        "wall_us": {"median": 120.0, "min": 111.0, "max": 140.0},
        "client_cpu_us": {"median": 70.0, "min": 62.9, "max": 75.0},
        "server_cpu_us": {"median": 40.0, "min": 36.0, "max": 43.0},
    }


def test_make_bench_prices_the_machines_round_trip_first():
    full, quick = run_all.benches(False), run_all.benches(True)

    assert full[0] == ("round trip", ["round_trip.py", "--count", "20000", "--repeat", "3"])
    assert quick[0] == ("round trip", ["round_trip.py", "--count", "5000", "--repeat", "1"])
    assert "round_trip.py" in run_all.WRITES_JSON
