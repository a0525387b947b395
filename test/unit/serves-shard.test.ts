// One rule for which peers may serve a shard, whatever said it (Waku metadata, an ENR from a tree or from peer
// exchange): a stated other cluster or a stated shard list without ours rules a peer out; silence does not.
import { describe, expect, it } from 'vitest'
import { mayServe, mayServeShard } from '../../src/peers/serves-shard.js'
import { servesLightPush, type Enr } from '../../src/discovery/enr.js'

describe('mayServe', () => {
  it.each([
    ['nothing said', undefined, true],
    ['no cluster, no shards', { shards: [] }, true],
    ['our cluster, shards unsaid', { clusterId: 1, shards: [] }, true],
    ['our cluster and shard', { clusterId: 1, shards: [2, 3] }, true],
    ['our cluster, other shards', { clusterId: 1, shards: [4] }, false],
    ['another cluster', { clusterId: 2, shards: [3] }, false],
    ['shards without a cluster, ours among them', { shards: [3] }, true],
    ['shards without a cluster, ours not', { shards: [5] }, false]
  ])('%s', (_what, claim, expected) => {
    expect(mayServeShard(claim, { clusterId: 1, shard: 3 })).toBe(expected)
  })

  it('without shards asked, only the cluster counts', () => {
    expect(mayServe({ clusterId: 1, shards: [7] }, 1)).toBe(true)
    expect(mayServe({ clusterId: 9, shards: [] }, 1)).toBe(false)
  })

  it('ENRs follow the same rule, from a tree or from peer exchange, and must advertise light push', () => {
    const enr = (extra: Partial<Enr>): Enr => ({ waku2: { lightPush: true }, ...extra }) as Enr
    expect(servesLightPush(enr({}), 1, [3])).toBe(true) // no rs: not ruled out (the DNS walk used to drop it)
    expect(servesLightPush(enr({ shards: { clusterId: 1, shards: [3] } }), 1, [3])).toBe(true)
    expect(servesLightPush(enr({ shards: { clusterId: 2, shards: [3] } }), 1)).toBe(false)
    expect(servesLightPush(enr({ shards: { clusterId: 1, shards: [4] } }), 1, [3])).toBe(false)
    expect(servesLightPush({ waku2: { lightPush: false } } as Enr, 1)).toBe(false)
  })
})
