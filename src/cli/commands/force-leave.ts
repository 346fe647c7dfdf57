/** `hearsay force-leave NODE`: marks a failed member left in every view (PUT /v1/agent/force-leave/NODE). */
import { clientCommand } from '../client-command.js';

export const command = clientCommand({
  name: 'force-leave',
  summary: 'remove a failed (dead) member from every view now, instead of waiting for its tombstone to expire',
  details: 'A live member is refused (it would refute at once): run `hearsay leave` on it instead. Exit code 1 if refused.',
  flags: {},
  args: { placeholder: 'NODE', description: 'the member name, as `hearsay members` lists it', min: 1, max: 1 },
  async run(client, _values, args) {
    const node = args[0] as string;
    const answer = await client.call('PUT', `/v1/agent/force-leave/${encodeURIComponent(node)}`);
    return { json: answer, text: `${node} marked left\n` };
  },
});
