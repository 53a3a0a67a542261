#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
"""Serves Keystone's public WSGI application on one loopback port.

keystone-wsgi-public's own test server is wsgiref: HTTP/1.0, one request at a time, and it resets
connections whose request it did not drain, which .NET's HttpClient sees as "response ended
prematurely". Werkzeug's server (Flask's, already a Keystone dependency) speaks HTTP/1.1 with a thread
per request: still no uwsgi or apache to install.
"""
import argparse
import logging
import os
import sys


def main():
    # Started in the background by setup.sh: descriptors it inherits (a caller's pipes, bash's process
    # substitutions) would keep that caller's readers waiting for EOF for as long as Keystone runs.
    os.closerange(3, 4096)
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    sys.argv[1:] = []  # keystone parses the command line as oslo.config options
    # Imported late so that OS_KEYSTONE_CONFIG_FILES is read from the environment we were given.
    from keystone.server.wsgi import initialize_public_application
    from werkzeug.serving import make_server
    app = initialize_public_application()
    logging.getLogger('werkzeug').setLevel(logging.WARNING)
    server = make_server(args.host, args.port, app, threaded=True)
    print('keystone listening on http://%s:%d/' % (args.host, args.port), flush=True)
    server.serve_forever()


if __name__ == '__main__':
    sys.exit(main())
