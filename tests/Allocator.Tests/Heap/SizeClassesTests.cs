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
                Assert.Equal(c, SizeClasses.SmallIndex(n));
            }
        }

        Assert.Equal(0, SizeClasses.SmallIndex(0));
    }

    [Fact]
    public void MultiplyShiftDivisionIsExactForEveryClassAndOffset()
    {
        foreach (uint size in SizeClasses.Sizes)
        {
            ulong magic = ((1UL << 42) / size) + 1;
            for (ulong offset = 0; offset < (1UL << 22); offset += 16)
            {
                ulong q = (offset * magic) >> 42;
                Assert.True(q == offset / size, $"class {size}, offset {offset}: {q} != {offset / size}");
            }
        }
    }
}
