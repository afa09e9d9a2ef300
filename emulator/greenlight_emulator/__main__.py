from .cli import prepare

if __name__ == "__main__":
    startup = prepare()
    if isinstance(startup, int):
        raise SystemExit(startup)
    # Only now: loading moto takes a second or more, and a signal meanwhile must find the
    # handlers prepare() installed.
    from .server import serve

    raise SystemExit(serve(startup))
