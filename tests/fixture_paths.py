"""Where the modules published by others live: ../shared/fixtures beside the repository
(CI lays a copy there). Read them; never rewrite them."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
HALF_PLUS_TWO = SHARED_FIXTURES / "half_plus_two_v1.tar.gz"
