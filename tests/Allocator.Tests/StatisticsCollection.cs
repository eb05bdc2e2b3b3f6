using Xunit;

namespace Allocator.Tests;

/// <summary>
/// Tests that compare the allocator's global statistics before and after their own work run in this collection,
/// alone: no other test allocates while they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StatisticsCollection
{
    public const string Name = "Allocator statistics";
}
