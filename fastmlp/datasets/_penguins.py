"""Loader for the Palmer penguins data set bundled with fastmlp."""

import csv
import io
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_penguins"]

_DATA_FILE = "penguins.csv"
_TARGET_COLUMN = "species"
_FEATURE_NAMES = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
]
_TARGET_NAMES = ["Adelie", "Gentoo", "Chinstrap"]
_MISSING = "NA"

_DESCR_TEMPLATE = """\
.. _penguins_dataset:

Palmer penguins dataset
-----------------------

**Data Set Characteristics:**

:Number of Instances: {n_samples} ({n_dropped} penguins with a missing
    measurement removed from the original {n_total})
:Number of Attributes: 4 numeric, predictive attributes and the class
:Attribute Information:
    - bill_length_mm: bill (culmen) length in mm
    - bill_depth_mm: bill (culmen) depth in mm
    - flipper_length_mm: flipper length in mm
    - body_mass_g: body mass in g
    - species (class):
        - Adelie ({n_adelie})
        - Gentoo ({n_gentoo})
        - Chinstrap ({n_chinstrap})
:Source: palmerpenguins (Horst, Hill & Gorman 2020)
:License: CC0 1.0 Universal (public domain dedication)

Penguins of three species observed on three islands of the Palmer
Archipelago, Antarctica, from 2007 to 2009. The data were collected and made
available by Dr. Kristen Gorman and the Palmer Station Long Term Ecological
Research (LTER) program, part of the US Long Term Ecological Research Network.

**References**

- Gorman K. B., Williams T. D. & Fraser W. R. (2014). Ecological sexual
  dimorphism and environmental variability within a community of Antarctic
  penguins (genus Pygoscelis). PLoS ONE 9(3): e90081.
  https://doi.org/10.1371/journal.pone.0090081
- Horst A. M., Hill A. P. & Gorman K. B. (2020). palmerpenguins: Palmer
  Archipelago (Antarctica) penguin data. R package.
  https://allisonhorst.github.io/palmerpenguins/
"""


def _read_penguins_csv():
    """Read the bundled CSV file.

    Returns
    -------
    data : ndarray of shape (n_samples, 4), dtype float64
        The four body measurements of every penguin that has all of them.
    target : ndarray of shape (n_samples,), dtype int64
        Species codes indexing into ``_TARGET_NAMES``.
    n_total : int
        The number of penguins in the file, including those dropped.
    """
    resource = resources.files(__package__) / "data" / _DATA_FILE
    text = resource.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing_columns = {_TARGET_COLUMN, *_FEATURE_NAMES} - set(reader.fieldnames or ())
    if missing_columns:
        raise ValueError(
            f"{_DATA_FILE} lacks the columns {sorted(missing_columns)}; "
            "the bundled data file is damaged."
        )
    codes = {name: code for code, name in enumerate(_TARGET_NAMES)}

    rows = []
    labels = []
    n_total = 0
    for record in reader:
        n_total += 1
        values = [record[name].strip() for name in _FEATURE_NAMES]
        if any(value in ("", _MISSING) for value in values):
            continue
        rows.append([float(value) for value in values])
        labels.append(codes[record[_TARGET_COLUMN].strip()])

    data = np.asarray(rows, dtype=np.float64).reshape(-1, len(_FEATURE_NAMES))
    target = np.asarray(labels, dtype=np.int64)
    return data, target, n_total


def _import_pandas():
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "load_penguins with as_frame=True requires pandas, which is not "
            "installed. Install it (for example `pip install pandas`) or call "
            "load_penguins with as_frame=False."
        ) from exc
    return pd


def load_penguins(*, return_X_y=False, as_frame=False):
    """Load and return the Palmer penguins data set (classification).

    Body measurements of penguins of three species observed in the Palmer
    Archipelago, Antarctica. Penguins with any missing measurement are left
    out, which leaves 342 of the 344 penguins in the data.

    =================   ===========================
    Classes                                       3
    Samples per class   151 (Adelie), 123 (Gentoo),
                        68 (Chinstrap)
    Samples total                               342
    Dimensionality                                4
    Features                         real, positive
    =================   ===========================

    The data are released under CC0 by Gorman, Williams & Fraser (2014,
    PLoS ONE 9(3): e90081) and the palmerpenguins package (Horst, Hill &
    Gorman 2020); see ``DESCR`` for the full attribution.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame with one column per feature
        and ``target`` a pandas Series named ``"species"`` holding the
        integer class codes; ``frame`` is the DataFrame joining both.
        Requires pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {ndarray, DataFrame} of shape (342, 4)
            The measurements ``bill_length_mm``, ``bill_depth_mm``,
            ``flipper_length_mm`` and ``body_mass_g``, as float64. A pandas
            DataFrame if `as_frame` is True.
        target : {ndarray, Series} of shape (342,)
            The species as int64 codes that index into ``target_names``. A
            pandas Series if `as_frame` is True.
        feature_names : list of str
            The names of the four feature columns.
        target_names : ndarray of shape (3,)
            The species names ``["Adelie", "Gentoo", "Chinstrap"]``.
        frame : DataFrame of shape (342, 5) or None
            Only present when `as_frame` is True: the features and the
            target in one DataFrame. None otherwise.
        DESCR : str
            The full description of the data set, with its attribution.

    (data, target) : tuple if ``return_X_y`` is True
        The data and the target, as NumPy arrays or, with `as_frame`, as a
        pandas DataFrame and Series.

    Raises
    ------
    ImportError
        If `as_frame` is True and pandas is not installed.

    Examples
    --------
    >>> from fastmlp.datasets import load_penguins
    >>> penguins = load_penguins()
    >>> penguins.data.shape
    (342, 4)
    >>> penguins.target_names[penguins.target[:3]].tolist()
    ['Adelie', 'Adelie', 'Adelie']
    >>> X, y = load_penguins(return_X_y=True)
    >>> X.dtype, y.dtype
    (dtype('float64'), dtype('int64'))
    """
    if as_frame:
        # Fail before reading the file when pandas is missing.
        pd = _import_pandas()

    data, target, n_total = _read_penguins_csv()
    feature_names = list(_FEATURE_NAMES)
    target_names = np.array(_TARGET_NAMES)
    counts = np.bincount(target, minlength=len(_TARGET_NAMES))
    descr = _DESCR_TEMPLATE.format(
        n_samples=data.shape[0],
        n_dropped=n_total - data.shape[0],
        n_total=n_total,
        n_adelie=counts[0],
        n_gentoo=counts[1],
        n_chinstrap=counts[2],
    )

    frame = None
    if as_frame:
        data = pd.DataFrame(data, columns=feature_names)
        target = pd.Series(target, name=_TARGET_COLUMN)
        frame = pd.concat([data, target], axis=1)

    if return_X_y:
        return data, target

    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        DESCR=descr,
    )
