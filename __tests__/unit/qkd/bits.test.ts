import { BitArray } from "@/lib/qkd/bits";
import { seededRandom } from "@/lib/qkd/rng";

const toArr = (b: BitArray) => Array.from({ length: b.length }, (_, i) => b.get(i));

describe("BitArray helpers", () => {
  const rng = seededRandom(8);
  it("slice, concat, reverse and scatter agree with plain arrays", () => {
    for (const n of [1, 31, 32, 33, 100, 1000]) {
      const b = BitArray.random(n, rng),
        arr = toArr(b);
      for (const [f, t] of [
        [0, n],
        [1, n],
        [Math.floor(n / 3), Math.floor((2 * n) / 3)],
        [n, n],
      ]) {
        expect(toArr(b.slice(f, t))).toEqual(arr.slice(f, t));
      }
      expect(toArr(b.reverse())).toEqual([...arr].reverse());
      const c = BitArray.random(45, rng);
      expect(toArr(BitArray.concat([b, c]))).toEqual([...arr, ...toArr(c)]);
      const mask = BitArray.random(n, rng);
      const vals = b.select(mask);
      const back = BitArray.scatter(mask, vals);
      expect(back.equals(b.and(mask))).toBe(true);
      expect(b.hamming(b.not())).toBe(n);
    }
  });
});
