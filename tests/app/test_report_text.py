"""The words of report.txt: a per-draw quantity is shown by its median and HDI, and a mean that
lies outside its own interval is explained, not printed bare."""

from bayesirl.app.report_text import interval_text


def test_median_hdi_and_mean_when_the_mean_is_inside():
    text = interval_text({"median": 0.5, "mean": 0.6, "hdi": [0.1, 1.0]}, 0.94)
    assert text == "median 0.5, 94% HDI [0.1, 1], mean 0.6"


def test_a_mean_outside_the_hdi_is_explained():
    # a long tail: 97 % of the draws at 0, a few large losses pull the mean up
    text = interval_text({"median": 0.0, "mean": 0.005643, "hdi": [0.0, 1.907e-06]}, 0.94)
    assert text.startswith("median 0, 94% HDI [0, 1.907e-06], mean 0.005643 (the mean lies "
                           "outside the HDI")


def test_older_reports_without_a_median():
    assert interval_text({"mean": 2.0, "hdi": [1.0, 3.0]}, 0.9) == "90% HDI [1, 3], mean 2"
