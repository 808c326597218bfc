"""docker-py against a daemon: one group of calls per run.

Usage: python3 dockerpy.py SOCKET PREFIX GROUP
Every object it makes is named PREFIX-...; it removes what it made. Each
check is an assert naming the call: a failure prints the traceback and
exits 1. Written for docker-py 5 (Debian's) and 7 (pip's) alike.
"""
import io
import sys
import tarfile
import time

import docker

SOCK, PREFIX, GROUP = sys.argv[1:4]
client = docker.DockerClient(base_url='unix://' + SOCK, version='auto',
                             timeout=60)
api = client.api
LABEL = PREFIX + '.test'


def sleeper(name, **kw):
    """A running busybox that ignores nothing: sleep as pid 1."""
    return client.containers.run('busybox', ['sleep', '600'], detach=True,
                                 name=PREFIX + '-' + name,
                                 labels={LABEL: name}, **kw)


def containers():
    out = client.containers.run('busybox', ['echo', 'hi'], remove=True)
    assert out == b'hi\n', 'containers.run (attached): %r' % out
    c = client.containers.run(
        'busybox', ['sh', '-c', 'echo out; echo err >&2; exec sleep 600'],
        detach=True, name=PREFIX + '-c', labels={LABEL: 'c'},
        environment={'A': '1'})
    other = sleeper('other')
    try:
        c.reload()
        assert c.status == 'running', 'attrs State: %s' % c.status
        assert c.name == PREFIX + '-c', 'attrs Name: %s' % c.name
        assert c.labels == {LABEL: 'c'}, 'attrs Labels: %r' % c.labels
        assert 'A=1' in c.attrs['Config']['Env'], 'attrs Env'
        assert c.attrs['HostConfig']['LogConfig']['Type'] == 'json-file'
        assert c.image.tags == ['busybox:latest'], 'image: %r' % c.image
        listed = client.containers.list(filters={'label': LABEL + '=c'})
        assert [x.id for x in listed] == [c.id], 'list label=: %r' % listed
        listed = client.containers.list(filters={'name': PREFIX + '-oth'})
        assert [x.id for x in listed] == [other.id], 'list name=: %r' % \
            listed
        both = client.containers.list(filters={'label': LABEL})
        assert len(both) == 2, 'list label (key only): %r' % both
        deadline = time.time() + 20
        while c.logs() != b'out\nerr\n' and time.time() < deadline:
            time.sleep(0.1)
        assert c.logs() == b'out\nerr\n', 'logs: %r' % c.logs()
        assert c.logs(stderr=False) == b'out\n', 'logs(stderr=False)'
        code, out = c.exec_run(['sh', '-c', 'echo $A; exit 3'])
        assert (code, out) == (3, b'1\n'), 'exec_run: %r' % ((code, out),)
        c.stop(timeout=1)
        assert c.wait(timeout=30)['StatusCode'] == 137, 'wait after stop'
        c.reload()
        assert c.status == 'exited', 'status after stop: %s' % c.status
        assert c.attrs['State']['ExitCode'] == 137, 'State.ExitCode'
        c.remove()
        try:
            client.containers.get(c.id)
            raise AssertionError('get after remove found it')
        except docker.errors.NotFound:
            pass
    finally:
        for x in (c, other):
            try:
                x.remove(force=True)
            except docker.errors.NotFound:
                pass


def images():
    img = client.images.get('busybox')
    assert 'busybox:latest' in img.tags, 'images.get: %r' % img.tags
    assert 'ContainerConfig' in img.attrs, 'inspect: ContainerConfig'
    repo = PREFIX + '-img'
    try:
        images_tagged(img, repo)
    finally:
        try:
            client.images.remove(repo + ':t1')
        except docker.errors.ImageNotFound:
            pass


def images_tagged(img, repo):
    assert img.tag(repo, 't1') is True, 'tag() is True (201)'
    img.reload()
    assert client.images.get(repo + ':t1').id == img.id, 'tagged'
    # the reference filter selects images; dockerd 20.10 lists each with
    # all its tags (the second one too)
    for name in ('busybox', repo, repo + ':t1'):
        found = [i.id for i in client.images.list(name=name)]
        assert found == [img.id], 'images.list(name=%s): %r' % (name, found)
    assert client.images.list(name=repo + ':t2') == [], 'list(name=:t2)'
    hist = img.history()
    assert hist and all('Id' in h and 'CreatedBy' in h for h in hist), \
        'history: %r' % hist
    data = b''.join(img.save(named=repo + ':t1'))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert 'manifest.json' in tar.getnames(), 'save: no manifest.json'
    client.images.remove(repo + ':t1')
    try:
        client.images.get(repo + ':t1')
        raise AssertionError('images.remove left the tag')
    except docker.errors.ImageNotFound:
        pass
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [img.id], 'load: %r' % loaded
    assert client.images.get(repo + ':t1').id == img.id, 'tag after load'


def networks():
    name = PREFIX + '-net'
    net = client.networks.create(name, driver='bridge',
                                 labels={LABEL: 'net'})
    c = sleeper('net')
    try:
        assert net.attrs['Labels'] == {LABEL: 'net'}, 'create labels: %r' % \
            net.attrs['Labels']
        found = client.networks.list(names=[name])
        assert [n.id for n in found] == [net.id], 'list(names=): %r' % found
        found = client.networks.list(filters={'label': LABEL})
        assert [n.id for n in found] == [net.id], 'list label: %r' % found
        net.connect(c, aliases=['pyalias'])
        net.reload()
        assert c.id in [x.id for x in net.containers], 'connect: %r' % \
            net.containers
        c.reload()
        settings = c.attrs['NetworkSettings']['Networks']
        assert name in settings, 'inspect Networks: %r' % settings
        assert 'pyalias' in (settings[name].get('Aliases') or []), \
            'Aliases: %r' % settings[name]
        net.disconnect(c)
        net.reload()
        assert net.containers == [], 'disconnect: %r' % net.containers
        c.reload()
        assert name not in c.attrs['NetworkSettings']['Networks'], \
            'inspect after disconnect'
    finally:
        c.remove(force=True)
        net.remove()
    assert client.networks.list(names=[name]) == [], 'remove'


def volumes():
    keep = client.volumes.create(PREFIX + '-keep', labels={LABEL: 'keep'})
    gone = client.volumes.create(PREFIX + '-gone', labels={LABEL: 'gone'})
    try:
        volumes_made(keep, gone)
    finally:
        for v in (keep, gone):
            try:
                v.remove()
            except docker.errors.NotFound:
                pass


def volumes_made(keep, gone):
    assert keep.attrs['Labels'] == {LABEL: 'keep'}, 'create labels'
    assert client.volumes.get(keep.name).name == keep.name, 'get'
    listed = client.volumes.list(filters={'label': LABEL + '=gone'})
    assert [v.name for v in listed] == [gone.name], 'list label=: %r' % \
        [v.name for v in listed]
    # API 1.42+ (docker 23) prunes named volumes only with all=true,
    # which 1.41 (dockerd 20.10) refuses
    new = docker.utils.version_gte(api.api_version, '1.42')
    pruned = client.volumes.prune(filters=dict(
        {'label': LABEL + '=gone'}, **({'all': 'true'} if new else {})))
    assert pruned['VolumesDeleted'] == [gone.name], 'prune label=: %r' % \
        pruned
    assert client.volumes.get(keep.name), 'prune removed a volume it kept'
    keep.remove()
    try:
        client.volumes.get(keep.name)
        raise AssertionError('get after remove found it')
    except docker.errors.NotFound:
        pass


def execs():
    c = sleeper('exec')
    try:
        ex = api.exec_create(c.id, ['sh', '-c', 'echo a; echo b >&2; exit 2'])
        chunks = api.exec_start(ex['Id'], stream=True, demux=True)
        out, err = b'', b''
        for o, e in chunks:
            out += o or b''
            err += e or b''
        assert (out, err) == (b'a\n', b'b\n'), 'exec_start stream: %r' % \
            ((out, err),)
        info = api.exec_inspect(ex['Id'])
        assert info['ExitCode'] == 2 and not info['Running'], \
            'exec_inspect: %r' % info
        # the stream must hold all the output every time
        for i in range(10):
            res = c.exec_run(['echo', str(i)], stream=True)
            got = b''.join(res.output)
            assert got == ('%d\n' % i).encode(), \
                'exec_run(stream=True) #%d: %r' % (i, got)
    finally:
        c.remove(force=True)


def events():
    since = time.time() - 1
    c = client.containers.run('busybox', ['true'], detach=True,
                              name=PREFIX + '-ev', labels={LABEL: 'ev'})
    c.wait(timeout=30)
    c.remove()
    until = time.time() + 1
    seen = [(e.get('Type'), e.get('Action')) for e in api.events(
        since=since, until=until, decode=True,
        filters={'container': c.id})]
    for want in ('create', 'start', 'die', 'destroy'):
        assert ('container', want) in seen, 'events %s: %r' % (want, seen)
    die = [e for e in api.events(since=since, until=until, decode=True,
                                 filters={'event': 'die',
                                          'label': LABEL + '=ev'})]
    assert len(die) == 1, 'events filters event+label: %r' % die
    attrs = die[0]['Actor']['Attributes']
    assert attrs.get('exitCode') == '0' and attrs.get('name') == c.name, \
        'die attributes: %r' % attrs


def archive():
    c = sleeper('arch')
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            body = b'from the tar\n'
            info = tarfile.TarInfo('put.txt')
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        assert c.put_archive('/tmp', buf.getvalue()) is True, 'put_archive'
        code, out = c.exec_run(['cat', '/tmp/put.txt'])
        assert (code, out) == (0, b'from the tar\n'), 'after put: %r' % out
        stream, stat = c.get_archive('/tmp/put.txt')
        assert stat['name'] == 'put.txt' and stat['size'] == 13, \
            'get_archive stat: %r' % stat
        data = b''.join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            got = tar.extractfile('put.txt').read()
        assert got == b'from the tar\n', 'get_archive: %r' % got
    finally:
        c.remove(force=True)


GROUPS = {'containers': containers, 'images': images, 'networks': networks,
          'volumes': volumes, 'exec': execs, 'events': events,
          'archive': archive}

if __name__ == '__main__':
    print(docker.__version__)
    GROUPS[GROUP]()
    print('ok')
