import gc

from leadline.core import gunicorn_conf


def test_a_worker_freezes_what_the_loaded_app_keeps_alive():
    before = gc.get_freeze_count()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        # The app's long-lived objects (the URLconf's among them) are out of the collector's
        # sight; what a request allocates afterwards is collected as before.
        assert gc.get_freeze_count() > before
        assert gc.isenabled()
    finally:
        gc.unfreeze()
