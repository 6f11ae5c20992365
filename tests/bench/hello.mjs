// The benchmark floor: a Worker that answers at once (tests/bench/floor.capnp).
export default {
  async fetch() {
    return new Response("hello\n");
  },
};
