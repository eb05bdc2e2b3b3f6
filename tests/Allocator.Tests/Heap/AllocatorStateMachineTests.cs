using System.Collections.Immutable;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// Model-based property test: random sequences of Alloc, AllocZeroed, AlignedAlloc, Realloc, AlignedRealloc and Free
/// over sizes from 0 bytes to several MiB, checked after every step against a model of the live blocks.
/// </summary>
[Collection(StatisticsCollection.Name)]
public unsafe class AllocatorStateMachineTests
{
    /// <summary>A live block as the model sees it: what was asked for and the pattern it holds.</summary>
    public sealed record ModelBlock(int Id, nuint Size, nuint Alignment, byte Seed);

    /// <summary>The model: live blocks, and counts of the operations that must show in the statistics.</summary>
    public sealed record Model(ImmutableList<ModelBlock> Blocks, int NextId)
    {
        public static readonly Model Empty = new([], 0);

        public override string ToString() => $"{Blocks.Count} live [{string.Join(", ", Blocks.Select(b => $"#{b.Id}:{b.Size}"))}]";
    }

    /// <summary>The real blocks, by model id, and the statistics at the start of the run.</summary>
    public sealed class Actual
    {
        public readonly Dictionary<int, nint> Pointers = [];
        public readonly long BaseLive = NativeAllocator.GetStatistics().LiveBlocks;
        public readonly long BaseBytes = NativeAllocator.GetStatistics().BytesInUse;

        public override string ToString() => $"{Pointers.Count} live blocks";
    }

    private static byte PatternAt(byte seed, nuint i) => (byte)(seed + (i * 31) + (i >> 8));

    private static void FillPattern(void* p, nuint size, byte seed)
    {
        byte* b = (byte*)p;
        for (nuint i = 0; i < size; i++)
        {
            b[i] = PatternAt(seed, i);
        }
    }

    private static bool HasPattern(void* p, nuint size, byte seed)
    {
        byte* b = (byte*)p;
        for (nuint i = 0; i < size; i++)
        {
            if (b[i] != PatternAt(seed, i))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The invariants that hold after every step; returns a description of the first broken one, or null.</summary>
    private static string? Invariants(Actual actual, Model model)
    {
        var spans = new List<(nuint Start, nuint End)>();
        nuint usableTotal = 0;
        foreach (ModelBlock block in model.Blocks)
        {
            nuint p = (nuint)actual.Pointers[block.Id];
            nuint usable = NativeAllocator.UsableSize((void*)p);
            if (usable < block.Size)
            {
                return $"block {block.Id}: usable size {usable} below the {block.Size} asked for";
            }

            nuint alignment = Math.Max(block.Alignment, block.Size >= 16 ? 16u : 1u);
            if (p % alignment != 0)
            {
                return $"block {block.Id} at {p:x} is not aligned to {alignment}";
            }

            spans.Add((p, p + usable));
            usableTotal += usable;
        }

        spans.Sort();
        for (int i = 1; i < spans.Count; i++)
        {
            if (spans[i].Start < spans[i - 1].End)
            {
                return $"blocks overlap: [{spans[i - 1].Start:x}, {spans[i - 1].End:x}) and [{spans[i].Start:x}, {spans[i].End:x})";
            }
        }

        var stats = NativeAllocator.GetStatistics();
        if (stats.LiveBlocks - actual.BaseLive != model.Blocks.Count)
        {
            return $"statistics show {stats.LiveBlocks - actual.BaseLive} live blocks, the model {model.Blocks.Count}";
        }

        if (stats.BytesInUse - actual.BaseBytes != (long)usableTotal)
        {
            return $"statistics show {stats.BytesInUse - actual.BaseBytes} bytes in use, the blocks' usable sizes add up to {usableTotal}";
        }

        return null;
    }

    private static Property Verdict(Actual actual, Model model, string? failure) =>
        Prop.Label(failure is null && (failure = Invariants(actual, model)) is null, failure ?? "ok");

    private abstract class Step : Operation<Actual, Model>
    {
    }

    private sealed class AllocStep(nuint size, nuint alignment, bool zeroed, byte seed) : Step
    {
        public override Model Run(Model m) => new(m.Blocks.Add(new ModelBlock(m.NextId, size, alignment, seed)), m.NextId + 1);

        public override Property Check(Actual actual, Model m)
        {
            ModelBlock block = m.Blocks[^1];
            void* p = alignment != 0 ? NativeAllocator.AlignedAlloc(size, alignment)
                : zeroed ? NativeAllocator.AllocZeroed(size)
                : NativeAllocator.Alloc(size);
            string? failure = p == null ? "null pointer" : null;
            if (zeroed && new ReadOnlySpan<byte>(p, (int)size).IndexOfAnyExcept((byte)0) >= 0)
            {
                failure = $"AllocZeroed({size}) returned memory that is not zero";
            }

            FillPattern(p, size, block.Seed);
            actual.Pointers[block.Id] = (nint)p;
            return Verdict(actual, m, failure);
        }

        public override string ToString() => alignment != 0 ? $"AlignedAlloc({size}, {alignment})" : zeroed ? $"AllocZeroed({size})" : $"Alloc({size})";
    }

    private sealed class ReallocStep(int index, nuint size, nuint alignment, byte seed) : Step
    {
        private ModelBlock? _old;

        public override bool Pre(Model m) => index < m.Blocks.Count;

        public override Model Run(Model m)
        {
            _old = m.Blocks[index];
            return m with { Blocks = m.Blocks.SetItem(index, _old with { Size = size, Alignment = alignment, Seed = seed }) };
        }

        public override Property Check(Actual actual, Model m)
        {
            ModelBlock old = _old!;
            void* p = (void*)actual.Pointers[old.Id];
            string? failure = HasPattern(p, old.Size, old.Seed) ? null : $"block {old.Id} lost its contents before Realloc";
            void* q = alignment != 0 ? NativeAllocator.AlignedRealloc(p, size, alignment) : NativeAllocator.Realloc(p, size);
            if (failure is null && !HasPattern(q, Math.Min(old.Size, size), old.Seed))
            {
                failure = $"Realloc from {old.Size} to {size} bytes lost the contents";
            }

            FillPattern(q, size, seed);
            actual.Pointers[old.Id] = (nint)q;
            return Verdict(actual, m, failure);
        }

        public override string ToString() => alignment != 0 ? $"AlignedRealloc(#{index}, {size}, {alignment})" : $"Realloc(#{index}, {size})";
    }

    private sealed class FreeStep(int index) : Step
    {
        private ModelBlock? _freed;

        public override bool Pre(Model m) => index < m.Blocks.Count;

        public override Model Run(Model m)
        {
            _freed = m.Blocks[index];
            return m with { Blocks = m.Blocks.RemoveAt(index) };
        }

        public override Property Check(Actual actual, Model m)
        {
            ModelBlock block = _freed!;
            void* p = (void*)actual.Pointers[block.Id];
            string? failure = HasPattern(p, block.Size, block.Seed) ? null : $"block {block.Id} ({block.Size} bytes) lost its contents";
            NativeAllocator.Free(p);
            actual.Pointers.Remove(block.Id);
            return Verdict(actual, m, failure);
        }

        public override string ToString() => $"Free(#{index})";
    }

    private sealed class CheckAllStep : Step
    {
        public override Model Run(Model m) => m;

        public override Property Check(Actual actual, Model m)
        {
            foreach (ModelBlock block in m.Blocks)
            {
                if (!HasPattern((void*)actual.Pointers[block.Id], block.Size, block.Seed))
                {
                    return Prop.Label(false, $"block {block.Id} ({block.Size} bytes) lost its contents");
                }
            }

            return Verdict(actual, m, null);
        }

        public override string ToString() => "CheckAll";
    }

    private sealed class FreshSetup : Setup<Actual, Model>
    {
        public override Actual Actual() => new();

        public override Model Model() => AllocatorStateMachineTests.Model.Empty;
    }

    private sealed class FreeAll : TearDown<Actual>
    {
        public override void Actual(Actual actual)
        {
            foreach (nint p in actual.Pointers.Values)
            {
                NativeAllocator.Free((void*)p);
            }

            actual.Pointers.Clear();
        }
    }

    private sealed class AllocatorMachine() : Machine<Actual, Model>(60)
    {
        private static readonly Gen<nuint> Sizes = Gen.Frequency(
            (3, Gen.Choose(0, 128).Select(i => (nuint)i)),
            (4, Gen.Choose(129, 1024).Select(i => (nuint)i)),
            (2, Gen.Choose(1025, 262_144).Select(i => (nuint)i)),
            (1, Gen.Choose(262_145, 6 << 20).Select(i => (nuint)i)));

        private static readonly Gen<nuint> Alignments = Gen.Elements<nuint>(32, 64, 128, 4096, 65536, 1 << 20, 4 << 20);

        private static readonly Gen<byte> Seeds = Gen.Choose(0, 255).Select(i => (byte)i);

        public override Arbitrary<Setup<Actual, Model>> Setup => Arb.From(Gen.Fresh<Setup<Actual, Model>>(() => new FreshSetup()));

        public override TearDown<Actual> TearDown => new FreeAll();

        public override Gen<Operation<Actual, Model>> Next(Model model)
        {
            Gen<Operation<Actual, Model>> alloc =
                from size in Sizes
                from kind in Gen.Choose(0, 5)
                from alignment in Alignments
                from seed in Seeds
                select (Operation<Actual, Model>)new AllocStep(size, kind == 5 ? alignment : 0, kind == 4, seed);
            if (model.Blocks.Count == 0)
            {
                return alloc;
            }

            Gen<int> index = Gen.Choose(0, model.Blocks.Count - 1);
            Gen<Operation<Actual, Model>> realloc =
                from i in index
                from size in Sizes
                from aligned in Gen.Choose(0, 3)
                from alignment in Alignments
                from seed in Seeds
                select (Operation<Actual, Model>)new ReallocStep(i, size, aligned == 3 ? alignment : 0, seed);
            Gen<Operation<Actual, Model>> free = index.Select(i => (Operation<Actual, Model>)new FreeStep(i));
            return Gen.Frequency(
                (5, alloc),
                (3, realloc),
                (4, free),
                (1, Gen.Constant((Operation<Actual, Model>)new CheckAllStep())));
        }
    }

    [FsCheck.Xunit.Property(MaxTest = 1000)]
    public Property RandomSequencesKeepEveryInvariant() => StateMachine.ToProperty(new AllocatorMachine());
}
