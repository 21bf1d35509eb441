"""learnware-dock-acme: a third-party plugin written against learnware_dock's public names only.

It registers one of each component kind the kernel's plugin contracts describe:

* ``AcmeMeanSpecification`` (:mod:`.spec`): the per-feature mean and spread of a table;
* the ``acme-nearest`` searcher (:mod:`.searcher`): ranks the learnwares that pass the
  semantic pre-filter by the distance of their means to the user's;
* the ``acme-median`` reuser (:mod:`.reuser`): the median of the best ``members``
  learnwares' predictions;
* the ``acme`` container (:mod:`.container`): the worker protocol in a plain child process
  (trusted packages only), journalling each load;
* the ``acme-license`` checker (:mod:`.checker`): rejects copyleft-licensed submissions.
"""
