namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// alloc-test (OLogN's allocator test, its random test): each thread owns a table of slots; an operation picks a
/// slot with an 80/20 distribution and frees its block if it holds one, else allocates a block there. Sizes come
/// from the original's power-of-two ranges, each half as likely as the one below.
/// </summary>
public sealed class AllocTest : Workload
{
    private const int TotalSlots = 1 << 18;
    private const int MaxSizeExponent = 10;
    private const int Operations = 1_000_000;

    public override string Name => "alloc-test";

    public override string Scaling =>
        "mimalloc-bench `alloc-test N` (random test): 2^18 slots split over the threads, about half filled first; " +
        "each operation picks a slot with an 80/20 distribution over 6 levels (80% of operations on the hottest 20% " +
        "of the slots, and so on) and frees its block, or allocates one if the slot is empty, of 5 B-1 KiB (each " +
        "power-of-two range half as likely as the one below, as calcSizeWithStatsAdjustment draws them). " +
        "1,000,000 x scale operations per thread instead of 100,000,000 (below scale 0.05, fewer slots in proportion).";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int operations = run.Scaled(Operations);
        int slotsPerThread = run.Tapered(TotalSlots, floor: 4096) / run.Threads;
        long allocations = 0;
        ThreadGroup.Run(run.Threads, t =>
        {
            var random = new FastRandom((ulong)(run.Seed + t));
            var sizes = new PowerOfTwoRangeSizes(MaxSizeExponent);
            var hot = new ParetoSlots(slotsPerThread);
            var slots = new Slot<TBlock>[slotsPerThread];
            long made = 0;
            for (int i = 0; i < slots.Length; i++)
            {
                if ((random.Next() & 1) != 0)
                {
                    Blocks<THeap, TBlock>.Fill(ref slots[i], sizes.Next(ref random), random.NextTag());
                    made++;
                }
            }

            for (int i = 0; i < operations; i++)
            {
                ref Slot<TBlock> slot = ref slots[hot.Next(ref random)];
                if (slot.IsLive)
                {
                    Blocks<THeap, TBlock>.Release(ref slot);
                }
                else
                {
                    Blocks<THeap, TBlock>.Fill(ref slot, sizes.Next(ref random), random.NextTag());
                    made++;
                }
            }

            Blocks<THeap, TBlock>.ReleaseAll(slots);
            Interlocked.Add(ref allocations, made);
        });
        return allocations;
    }
}

/// <summary>
/// Slot indices with the 80/20 rule applied over 6 levels: 80% of draws fall in the first 20% of the slots; of the
/// rest, 80% in the next 20% of the remaining slots; and so on, the last level taking what is left of both.
/// </summary>
public sealed class ParetoSlots
{
    private const int Levels = 6;
    private readonly uint[] _thresholds = new uint[Levels];
    private readonly int[] _starts = new int[Levels + 1];

    public ParetoSlots(int slots)
    {
        double share = 1.0; // of draws not yet given to a level
        double remaining = slots;
        int start = 0;
        for (int level = 0; level < Levels; level++)
        {
            bool last = level == Levels - 1;
            share *= last ? 0 : 0.2;
            _thresholds[level] = last ? uint.MaxValue : (uint)((1 - share) * uint.MaxValue);
            _starts[level] = start;
            int count = last ? slots - start : Math.Max(1, (int)(remaining * 0.2));
            start += count;
            remaining -= count;
        }

        _starts[Levels] = slots;
    }

    /// <summary>A slot index.</summary>
    public int Next(ref FastRandom random)
    {
        ulong bits = random.Next();
        uint pick = (uint)(bits >> 32);
        int level = 0;
        while (pick > _thresholds[level])
        {
            level++;
        }

        int first = _starts[level];
        return first + (int)(((bits & uint.MaxValue) * (ulong)(uint)(_starts[level + 1] - first)) >> 32);
    }
}
