"""The tenders service's views, one module per audience.

- ``pages``: the collectivity's staff (/s/tenders/): the wizard, publication, corrections, the end of a procedure,
  questions and the award;
- ``public``: companies and citizens without an account (/p/tenders/): open consultations, DCE, questions and
  answers, the Atom feed, DECP and OCDS;
- ``api``: the JSON API (/api/v1/tenders/);
- ``downloads``: the file and open-data responses that the staff pages and the public pages both serve.

The blueprints keep the package folder as their root, so ``templates/``, ``static/`` and ``translations/`` stay
beside the service's other modules.
"""
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
