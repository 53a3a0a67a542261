#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
"""Serves Keystone's public WSGI application on one loopback port, one thread per request.

keystone-wsgi-public's own test server is single-threaded; a threaded wsgiref server is the lightest
way to run Keystone here (no uwsgi, no apache) and still answer concurrent token validations.
"""
import argparse
import socketserver
import sys
import wsgiref.simple_server as wss


class _Server(wss.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(wss.WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    sys.argv[1:] = []  # keystone parses the command line as oslo.config options
    # Imported late so that OS_KEYSTONE_CONFIG_FILES is read from the environment we were given.
    from keystone.server.wsgi import initialize_public_application
    app = initialize_public_application()
    server = wss.make_server(args.host, args.port, app, server_class=_Server, handler_class=_QuietHandler)
    print('keystone listening on http://%s:%d/' % (args.host, args.port), flush=True)
    server.serve_forever()


if __name__ == '__main__':
    sys.exit(main())
