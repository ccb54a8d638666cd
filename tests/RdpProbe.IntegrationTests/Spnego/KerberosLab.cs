using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RdpProbe.IntegrationTests.Lab;

namespace RdpProbe.IntegrationTests.Spnego;

/// <summary>
/// The lab KDC (scripts/kdc.sh, started by lab.sh through <see cref="LabFixture"/>) as the Kerberos library of this
/// test process sees it. MIT krb5 reads KRB5_CONFIG, KRB5CCNAME and KRB5_KTNAME from the C environment, which
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not change on Unix, hence setenv(3).
/// </summary>
internal static class KerberosLab
{
    public const string Realm = "RDPPROBE.TEST";
    public const string RegisteredSpn = "TERMSRV/app01.rdpprobe.test";
    public const string UnregisteredSpn = "TERMSRV/app02.rdpprobe.test";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _keytab;

    [DllImport("libc", EntryPoint = "setenv", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);

    public static string StateDirectory(LabFixture lab)
        => Path.Combine(LabScripts.RepositoryRoot, ".lab", lab.BasePort.ToString(CultureInfo.InvariantCulture), "kdc");

    /// <summary>
    /// Points this process's Kerberos library at the lab KDC (the client krb5.conf kdc.sh wrote) and at an in-memory
    /// credential cache, so no test reads or writes the user's own tickets.
    /// </summary>
    public static void UseLabKdc(LabFixture lab, string? clientConfig = null)
    {
        string conf = clientConfig ?? Path.Combine(StateDirectory(lab), "krb5.conf");
        Assert.True(File.Exists(conf), $"the lab KDC's client configuration {conf} is missing: is krb5-kdc installed (scripts/install-deps.sh)?");
        Set("KRB5_CONFIG", conf);
        Set("KRB5CCNAME", "MEMORY:rdpprobe-spnego-tests");
    }

    /// <summary>
    /// The service key of TERMSRV/app01 for the scripted server's acceptor: exported once from the lab's database with
    /// kadmin.local (-norandkey keeps the key the KDC issues tickets under), then KRB5_KTNAME points at it.
    /// </summary>
    public static async Task UseApp01KeytabAsync(LabFixture lab)
    {
        await Gate.WaitAsync();
        try
        {
            if (_keytab is null)
            {
                string state = StateDirectory(lab);
                string keytab = Path.Combine(state, "app01-spnego-tests.keytab");
                File.Delete(keytab);
                var start = new ProcessStartInfo("kadmin.local", ["-r", Realm, "-q", $"ktadd -norandkey -k {keytab} {RegisteredSpn}"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                start.Environment["KRB5_CONFIG"] = Path.Combine(state, "krb5-server.conf");
                start.Environment["KRB5_KDC_PROFILE"] = Path.Combine(state, "kdc.conf");
                using var process = Process.Start(start)!;
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                string stdout = await process.StandardOutput.ReadToEndAsync(cts.Token);
                string stderr = await process.StandardError.ReadToEndAsync(cts.Token);
                await process.WaitForExitAsync(cts.Token);
                Assert.True(process.ExitCode == 0 && File.Exists(keytab), $"kadmin.local ktadd failed ({process.ExitCode}): {stdout} {stderr}");
                _keytab = keytab;
            }

            Set("KRB5_KTNAME", "FILE:" + _keytab);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static void Set(string name, string value)
    {
        Assert.Equal(0, SetEnv(name, value, 1));
        Environment.SetEnvironmentVariable(name, value);
    }
}
