// Which command lines are fuse-overlayfs's (what containers/storage runs as
// mount_program) and what `strata mount` line each becomes; everything else
// is left to the strata CLI untouched.
import t from 'tap'
import { fromFuseOverlayfs } from '../../src/cli/fuse-overlayfs-argv.js'

t.test('fuse-overlayfs lines become strata mount', async (t) => {
  t.same(fromFuseOverlayfs(['-o', 'lowerdir=a:b,upperdir=u,workdir=w', '/m']), ['mount', '-o', 'lowerdir=a:b,upperdir=u,workdir=w', '/m'])
  t.same(fromFuseOverlayfs(['-olowerdir=a', '-o', 'upperdir=u,workdir=w,volatile', '/m']), ['mount', '-o', 'lowerdir=a', '-o', 'upperdir=u,workdir=w,volatile', '/m'])
  t.same(fromFuseOverlayfs(['-f', '-d', '-o', 'lowerdir=a', '/m']), ['mount', '-o', 'lowerdir=a', '-f', '--debug', '/m'])
  t.same(fromFuseOverlayfs(['--debug', '-o', 'lowerdir=a', '/m']), ['mount', '-o', 'lowerdir=a', '--debug', '/m'])
  t.same(fromFuseOverlayfs(['-o', 'lowerdir=a', '/m', '-f']), ['mount', '-o', 'lowerdir=a', '-f', '/m'], 'options after the mountpoint')
  t.same(fromFuseOverlayfs(['-V']), ['--version'])
})

t.test('other lines are left alone', async (t) => {
  for (const argv of [
    [], ['mount', '-o', 'lowerdir=a', '/m'], ['image', 'ls'], ['--help'], ['--version'],
    ['strata', '/m', '-o', 'lowerdir=a'], // mount.fuse's form, handled by fromMountHelper
    ['-o', 'lowerdir=a'], // no mountpoint
    ['-o', 'lowerdir=a', '/m', '/n'], // two
    ['-o'], ['-x', '-o', 'lowerdir=a', '/m'], // an option fuse-overlayfs does not have
  ]) t.same(fromFuseOverlayfs(argv), argv, JSON.stringify(argv))
})
