# The host port that really reaches a guest port. With `auto_correct: true`
# Vagrant forwards another host port when the one in lab.yml is taken, so the
# setting alone can name the wrong port.

class LabForwardedPort
  # {host port => guest port} of the running VM, or nil when the provider
  # can't list them: vagrant-libvirt has no such capability (and never moves
  # a port), and a VM that isn't running forwards nothing.
  def self.of(machine)
    return nil unless machine&.provider&.capability?(:forwarded_ports)
    return nil unless machine.state.id == :running

    machine.provider.capability(:forwarded_ports)
  rescue Vagrant::Errors::VagrantError
    # A VBoxManage that fails here must not stop `vagrant up` or provisioning.
    nil
  end

  # The Vagrantfile's trigger sets this just before :up, :reload or :provision.
  attr_writer :machine

  def initialize(guest_port, setting)
    @guest_port = guest_port
    @setting = setting
    @machine = nil
  end

  def host_port
    self.class.of(@machine)&.key(@guest_port) || @setting
  end

  # Vagrant's shell provisioner calls to_s on each `env:` value only when the
  # script runs, so an env value of this class names the port forwarded then.
  def to_s
    host_port.to_s
  end
end
