using System.Numerics;
using System.Runtime.CompilerServices;
using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Workloads;

/// <summary>A distribution of block sizes. Structs, so the generic code that draws from one is specialized.</summary>
public interface ISizeDistribution
{
    /// <summary>Draws a size in bytes.</summary>
    int Next(ref FastRandom random);
}

/// <summary>Every size in [min, max] equally likely.</summary>
public readonly struct UniformSizes(int min, int max) : ISizeDistribution
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(ref FastRandom random) => random.Between(min, max);
}

/// <summary>Density falling linearly from min to zero at max (rpmalloc-benchmark's "linear falloff").</summary>
public readonly struct LinearFalloffSizes(int min, int max) : ISizeDistribution
{
    public int Next(ref FastRandom random) => min + (int)((max - min) * (1 - Math.Sqrt(1 - random.NextDouble())));
}

/// <summary>Density proportional to 1/size (log-uniform).</summary>
public readonly struct LogUniformSizes(int min, int max) : ISizeDistribution
{
    public int Next(ref FastRandom random) => Math.Min(max, (int)(min * Math.Pow((double)max / min, random.NextDouble())));
}

/// <summary>
/// Density proportional to 1/size² from min to max, as glibc's bench-malloc-thread draws its block sizes (the
/// inverse of the distribution's cumulative function, applied to a uniform number).
/// </summary>
public readonly struct InverseSquareSizes(int min, int max) : ISizeDistribution
{
    public int Next(ref FastRandom random)
    {
        double inverseMin = 1.0 / min;
        double inverseMax = 1.0 / max;
        return Math.Clamp((int)(1.0 / (inverseMin + ((inverseMax - inverseMin) * random.NextDouble()))), min, max);
    }
}

/// <summary>
/// alloc-test's sizes (its <c>calcSizeWithStatsAdjustment</c>, up to 2^<c>maxExponent</c> bytes): a power-of-two
/// range is picked with the trailing zero count of a random number, so each range is half as likely as the one
/// below it, then a size is drawn uniformly inside it. For maxExponent 10: 5-8 B half the time, 9-16 B a quarter,
/// up to 513-1024 B. Integer arithmetic only, as in the original.
/// </summary>
public readonly struct PowerOfTwoRangeSizes(int maxExponent) : ISizeDistribution
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(ref FastRandom random)
    {
        ulong bits = random.Next();
        int classBits = maxExponent - 3;
        int range = BitOperations.TrailingZeroCount((uint)(bits & ((1UL << classBits) - 1)) + 1) + 2;
        bits >>= classBits;
        return (int)(bits & ((1UL << range) - 1)) + 1 + (1 << range);
    }
}

/// <summary>
/// A distribution drawn once into a table, as the C originals keep theirs (glibc's bench-malloc-thread 8,000
/// sizes, rpmalloc's benchmark 2,000), so the timed loop pays a table read instead of a <c>pow</c> or a square root
/// per allocation, which took a fifth of glibc-thread's time when every size was computed.
/// </summary>
public readonly struct SizeTable : ISizeDistribution
{
    private readonly int[] _sizes;

    private SizeTable(int[] sizes) => _sizes = sizes;

    /// <summary>Draws <paramref name="length"/> sizes from <paramref name="source"/> with its own seed.</summary>
    public static SizeTable Of<TSizes>(TSizes source, int length, ulong seed) where TSizes : struct, ISizeDistribution
    {
        var random = new FastRandom(seed);
        var sizes = new int[length];
        for (int i = 0; i < sizes.Length; i++)
        {
            sizes[i] = source.Next(ref random);
        }

        return new SizeTable(sizes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(ref FastRandom random) => _sizes[random.Below(_sizes.Length)];
}

/// <summary>A thread's working set of live blocks, replaced at random.</summary>
public static class WorkingSet<THeap, TBlock> where THeap : IBlockHeap<TBlock>
{
    /// <summary>Fills every slot with a block drawn from <paramref name="sizes"/>.</summary>
    public static void Fill<TSizes>(Span<Slot<TBlock>> slots, TSizes sizes, ref FastRandom random)
        where TSizes : struct, ISizeDistribution
    {
        for (int i = 0; i < slots.Length; i++)
        {
            Blocks<THeap, TBlock>.Fill(ref slots[i], sizes.Next(ref random), random.NextTag());
        }
    }

    /// <summary><paramref name="count"/> times: pick a random slot, check and free its block, allocate a new one.</summary>
    /// <remarks>
    /// Never inlined, so the loop is compiled as a method of its own, with its own inlining budget. Inlined into a
    /// workload's thread body (itself inlined into <see cref="ThreadGroup"/>'s), an inlined allocator used up the
    /// budget and the JIT left the workload's own pattern code as calls, which a call to a native allocator did
    /// not: a profile of glibc-thread showed ours paying 10% of its samples for them and mimalloc none.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Replace<TSizes>(Slot<TBlock>[] slots, long count, TSizes sizes, ref FastRandom random)
        where TSizes : struct, ISizeDistribution
    {
        for (long i = 0; i < count; i++)
        {
            ref Slot<TBlock> slot = ref slots[random.Below(slots.Length)];
            Blocks<THeap, TBlock>.Release(ref slot);
            Blocks<THeap, TBlock>.Fill(ref slot, sizes.Next(ref random), random.NextTag());
        }
    }
}

/// <summary>
/// The shape alloc-test and glibc-thread share: each thread fills its own working set, replaces random blocks
/// many times, then frees everything.
/// </summary>
public abstract class RandomReplacement<TSizes> : Workload where TSizes : struct, ISizeDistribution
{
    /// <summary>Live blocks per thread.</summary>
    protected abstract int SlotsPerThread { get; }

    /// <summary>Replacements per thread at scale 1.</summary>
    protected abstract int Replacements { get; }

    /// <summary>The size distribution.</summary>
    protected abstract TSizes Sizes { get; }

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        long replacements = run.Scaled(Replacements);
        TSizes sizes = Sizes;
        ThreadGroup.Run(run.Threads, t =>
        {
            var random = new FastRandom((ulong)(run.Seed + t));
            var slots = new Slot<TBlock>[SlotsPerThread];
            WorkingSet<THeap, TBlock>.Fill(slots, sizes, ref random);
            WorkingSet<THeap, TBlock>.Replace(slots, replacements, sizes, ref random);
            Blocks<THeap, TBlock>.ReleaseAll(slots);
        });
        return run.Threads * (SlotsPerThread + replacements);
    }
}
