using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Micro;

/// <summary>
/// A set of live blocks replaced at random. Slot indices and sizes are drawn once into tables, so the measured
/// loop is a table read, a free and an allocation (and one write to the new block).
/// </summary>
public sealed class LiveSet<TBlock>
{
    private const int TableLength = 1 << 16;

    private readonly TBlock[] _blocks;
    private readonly Step[] _steps = new Step[TableLength];
    private int _cursor;

    /// <summary>One replacement: which slot, and the new block's size (one table, so the loop keeps one pointer to it).</summary>
    private struct Step
    {
        public int Slot;
        public int Size;
    }

    public LiveSet(int liveBlocks, int minSize, int maxSize, int seed)
    {
        _blocks = new TBlock[liveBlocks];
        var random = new FastRandom((ulong)seed);
        for (int i = 0; i < TableLength; i++)
        {
            _steps[i].Slot = random.Below(liveBlocks);
            _steps[i].Size = random.Between(minSize, maxSize);
        }
    }

    /// <summary>Allocates every block.</summary>
    public void Fill<THeap>() where THeap : IBlockHeap<TBlock>
    {
        for (int i = 0; i < _blocks.Length; i++)
        {
            _blocks[i] = THeap.Alloc(_steps[i % TableLength].Size);
        }
    }

    /// <summary>Replaces <paramref name="count"/> random blocks, writing the first byte of each new one.</summary>
    /// <remarks>
    /// The tables are read without bounds checks (the slot index is masked, every slot is below the live count by
    /// construction) and the loop keeps few enough values live that the JIT spills none of them: the loop's own
    /// cost, the same for every allocator, is a few instructions and the one store of the new block into its slot.
    /// </remarks>
    public void Replace<THeap>(int count) where THeap : IBlockHeap<TBlock>
    {
        ref TBlock blocks = ref MemoryMarshal.GetArrayDataReference(_blocks);
        int start = _cursor;
        _cursor = (int)((uint)(start + count) % TableLength);
        while (count > 0)
        {
            int run = Math.Min(count, TableLength - start); // steps start .. start + run do not wrap
            ref Step first = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_steps), start);
            ReplaceRun<THeap>(ref first, ref Unsafe.Add(ref first, run), ref blocks);
            count -= run;
            start = 0;
        }
    }

    /// <summary>The measured loop: steps from <paramref name="step"/> up to <paramref name="stop"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReplaceRun<THeap>(ref Step step, ref Step stop, ref TBlock blocks) where THeap : IBlockHeap<TBlock>
    {
        for (; Unsafe.IsAddressLessThan(ref step, ref stop); step = ref Unsafe.Add(ref step, 1))
        {
            ref TBlock slot = ref Unsafe.Add(ref blocks, (uint)step.Slot);
            THeap.Free(slot);
            TBlock block = THeap.Alloc(step.Size);
            slot = block;
            THeap.Bytes(block, 1)[0] = 1;
        }
    }

    /// <summary>Frees every block.</summary>
    public void Clear<THeap>() where THeap : IBlockHeap<TBlock>
    {
        for (int i = 0; i < _blocks.Length; i++)
        {
            THeap.Free(_blocks[i]);
            _blocks[i] = default!;
        }
    }
}
