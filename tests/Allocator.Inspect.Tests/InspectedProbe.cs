using System.Text.Json;
using Xunit;

namespace Allocator.Inspect.Tests;

/// <summary>
/// One Allocator.Probe "inspect" process shared by the command tests, with the statistics it printed about itself
/// (see tests/Allocator.Probe/InspectTarget.cs for what it holds). Its purge delay is an hour, so nothing changes
/// while it is inspected.
/// </summary>
public sealed class InspectedProbe : IDisposable
{
    private readonly TargetProgram _program;

    public InspectedProbe()
    {
        _program = TargetProgram.StartProbe("inspect", ("ALLOCATOR_PURGE_DELAY_MS", "3600000"));
        Stats = JsonDocument.Parse(_program.Findings["stats-json"]).RootElement;
    }

    public int ProcessId => _program.ProcessId;

    /// <summary>The probe's own statistics: NativeAllocator.GetStatistics(), the pool's, and the outstanding owners.</summary>
    public JsonElement Stats { get; }

    public void Dispose() => _program.Dispose();
}

[CollectionDefinition(Name)]
public sealed class InspectedProbeCollection : ICollectionFixture<InspectedProbe>
{
    public const string Name = "inspected probe";
}
