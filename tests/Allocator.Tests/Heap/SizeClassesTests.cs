using System.Numerics;
using Allocator.Heap;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>The size-class table and the arithmetic the free path relies on.</summary>
public class SizeClassesTests
{
    [Fact]
    public void ClassesAreSixteenByteMultiplesAndWasteAtMostAQuarterAbove64Bytes()
    {
        uint previous = 0;
        foreach (uint size in SizeClasses.Sizes)
        {
            Assert.True(size > previous);
            Assert.Equal(0u, size % 16);
            previous = size;
        }

        for (nuint n = 1; n <= SizeClasses.MaxSize; n++)
        {
            int c = SizeClasses.Index(n);
            uint size = SizeClasses.Sizes[c];
            Assert.True(size >= n, $"{n} bytes got class {size}");
            Assert.True(c == 0 || SizeClasses.Sizes[c - 1] < n, $"{n} bytes did not get the smallest class that fits");
            if (n > 64)
            {
                Assert.True((size - n) * 4 <= n, $"{n} bytes waste {size - n} in class {size}");
            }

            if (n <= SizeClasses.LookupMax)
            {
                Assert.Equal((nuint)c, SizeClasses.SmallIndex(n));
            }
        }

        Assert.Equal((nuint)0, SizeClasses.SmallIndex(0));
    }

    [Fact]
    public void BlockIndexIsExactForEveryClassAndOffset()
    {
        const int segment = 1 << 22;
        foreach (uint size in SizeClasses.Sizes)
        {
            ulong inverse = Page.InverseOf(size);
            Assert.Equal(1UL, inverse * (size >> BitOperations.TrailingZeroCount(size)));
            int shift = BitOperations.TrailingZeroCount(size);
            int capacity = (int)(segment / size);

            // Every 16-byte offset of a segment, and every offset near the first blocks; then offsets before the
            // start (wrapped) and past the capacity.
            for (ulong offset = 0; offset < segment; offset += offset < 4 * size ? 1UL : 16UL)
            {
                long expected = offset % size == 0 && offset / size < (ulong)capacity ? (long)(offset / size) : -1;
                long actual = Page.IndexAt((nuint)offset, inverse, shift, capacity);
                if (actual != expected)
                {
                    Assert.Fail($"class {size}, offset {offset}: {actual}, expected {expected}");
                }
            }

            for (ulong back = 1; back <= 4 * size; back += back < 4096 ? 1UL : 16UL)
            {
                if (Page.IndexAt((nuint)(0UL - back), inverse, shift, capacity) != -1)
                {
                    Assert.Fail($"class {size}, offset -{back} gave a block index");
                }
            }

            Assert.Equal(-1, Page.IndexAt((nuint)((ulong)capacity * size), inverse, shift, capacity));
            Assert.Equal(capacity - 1, Page.IndexAt((nuint)((ulong)(capacity - 1) * size), inverse, shift, capacity));
        }
    }
}
