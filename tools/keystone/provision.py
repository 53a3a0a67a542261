#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
"""Creates, idempotently, what Octavia expects in Keystone: upstream's load-balancer roles, the octavia
service user, an admin and a demo member user, and catalog entries for load-balancer and network.

One process with keystoneclient instead of ~25 `openstack` CLI calls: it takes well under a second.
"""
import argparse
import sys

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

LB_ROLES = ['load-balancer_observer', 'load-balancer_global_observer', 'load-balancer_member',
            'load-balancer_quota_admin', 'load-balancer_admin']


def find_or_create(manager, name, **kwargs):
    filters = {'name': name}
    if 'domain' in kwargs and manager.__class__.__name__ != 'RoleManager':
        filters['domain'] = kwargs['domain']
    found = manager.list(**filters)
    if found:
        return found[0]
    return manager.create(name=name, **kwargs)


def password_works(auth_url, name, password):
    auth = v3.Password(auth_url=auth_url, username=name, password=password,
                       user_domain_name='Default', unscoped=True)
    try:
        session.Session(auth=auth).get_token()
        return True
    except ks_exceptions.Unauthorized:
        return False


def ensure_user(ks, auth_url, name, password, domain):
    users = ks.users.list(name=name, domain=domain)
    if not users:
        return ks.users.create(name=name, password=password, domain=domain, enabled=True)
    # Changing a password revokes the user's tokens: only do it when the password really differs.
    if not users[0].enabled or not password_works(auth_url, name, password):
        return ks.users.update(users[0], password=password, enabled=True)
    return users[0]


def ensure_endpoints(ks, service_type, service_name, description, url, region):
    services = [s for s in ks.services.list(type=service_type) if s.name == service_name]
    service = services[0] if services else ks.services.create(
        name=service_name, type=service_type, description=description, enabled=True)
    existing = {e.interface: e for e in ks.endpoints.list(service=service, region=region)}
    for interface in ('public', 'internal', 'admin'):
        if interface in existing:
            if existing[interface].url != url:
                ks.endpoints.update(existing[interface], url=url)
        else:
            ks.endpoints.create(service=service, url=url, interface=interface, region=region, enabled=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--auth-url', required=True)
    p.add_argument('--admin-password', required=True)
    p.add_argument('--service-password', required=True)
    p.add_argument('--demo-password', required=True)
    p.add_argument('--identity-url', required=True)
    p.add_argument('--octavia-url', required=True)
    p.add_argument('--network-url', required=True)
    p.add_argument('--region', default='RegionOne')
    a = p.parse_args()

    auth = v3.Password(auth_url=a.auth_url, username='admin', password=a.admin_password,
                       project_name='admin', user_domain_name='Default', project_domain_name='Default')
    # The seeded catalog may name another port: talk to this instance directly.
    ks = client.Client(session=session.Session(auth=auth), endpoint_override=a.auth_url)
    domain = ks.domains.get('default')

    roles = {r: find_or_create(ks.roles, r) for r in LB_ROLES + ['admin', 'member', 'reader']}
    service_project = find_or_create(ks.projects, 'service', domain=domain, description='Service project')
    demo_project = find_or_create(ks.projects, 'demo', domain=domain, description='Demo project')

    octavia = ensure_user(ks, a.auth_url, 'octavia', a.service_password, domain)
    ks.roles.grant(roles['admin'], user=octavia, project=service_project)
    demo = ensure_user(ks, a.auth_url, 'demo', a.demo_password, domain)
    ks.roles.grant(roles['member'], user=demo, project=demo_project)
    ks.roles.grant(roles['load-balancer_member'], user=demo, project=demo_project)

    ensure_endpoints(ks, 'identity', 'keystone', 'Keystone Identity Service', a.identity_url, a.region)
    ensure_endpoints(ks, 'load-balancer', 'octavia', 'Octavia Load Balancing Service', a.octavia_url, a.region)
    ensure_endpoints(ks, 'network', 'neutron', 'Neutron view served by Octavia', a.network_url, a.region)
    print('export OCTAVIA_KEYSTONE_SERVICE_PROJECT_ID=%s' % service_project.id)
    print('export OCTAVIA_KEYSTONE_DEMO_PROJECT_ID=%s' % demo_project.id)


if __name__ == '__main__':
    sys.exit(main())
