//! A service as one phase runs it.

use std::ops::Deref;

use crate::Service;

/// A service as a phase runs it: the model's own service when the phase changes nothing in
/// it (most services), else the phase's copy, boxed.
///
/// Use it as a `&Service` (it dereferences to one). The copy is boxed so that a plan of
/// 50,000 borrowed services holds 50,000 pointers, not 50,000 services' worth of memory.
#[derive(Clone, Debug)]
pub enum InPhase<'a> {
    /// The model's service, unchanged.
    Model(&'a Service),
    /// The phase's own version: overrides applied, or a service the phase implies (a Citus
    /// worker, the pooler, a backup job…).
    Altered(Box<Service>),
}

impl<'a> InPhase<'a> {
    /// The service, copied out of the model first when it was borrowed, to change it.
    pub fn to_mut(&mut self) -> &mut Service {
        if let InPhase::Model(s) = *self {
            *self = InPhase::Altered(Box::new(s.clone()));
        }
        match self {
            InPhase::Altered(s) => s,
            // Never: replaced just above. Copying again is the answer that cannot be wrong.
            InPhase::Model(s) => {
                let copy = Box::new((*s).clone());
                *self = InPhase::Altered(copy);
                self.to_mut()
            }
        }
    }
    /// The service, owned.
    pub fn into_owned(self) -> Service {
        match self {
            InPhase::Model(s) => s.clone(),
            InPhase::Altered(s) => *s,
        }
    }
    /// Whether the phase changed the service (or implied it).
    pub fn is_altered(&self) -> bool {
        matches!(self, InPhase::Altered(_))
    }
}

impl From<Service> for InPhase<'_> {
    fn from(service: Service) -> Self {
        InPhase::Altered(Box::new(service))
    }
}

/// Two are equal when their services are, wherever each lives.
impl PartialEq for InPhase<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Deref for InPhase<'_> {
    type Target = Service;
    fn deref(&self) -> &Service {
        match self {
            InPhase::Model(s) => s,
            InPhase::Altered(s) => s,
        }
    }
}

impl AsRef<Service> for InPhase<'_> {
    fn as_ref(&self) -> &Service {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::InPhase;
    use crate::Service;

    #[test]
    fn a_borrowed_service_is_copied_only_when_changed() {
        let api = Service::builder().name("api").image("api:1").build();
        let mut s = InPhase::Model(&api);
        assert!(!s.is_altered());
        assert_eq!(s.name.as_str(), "api");
        s.to_mut().replicas = 7;
        assert!(s.is_altered());
        assert_eq!(s.replicas, 7);
        assert_eq!(api.replicas, 1, "the model's service is untouched");
        assert_ne!(s, InPhase::Model(&api));
        let mut back = api.clone();
        back.replicas = 7;
        assert_eq!(
            s,
            InPhase::Model(&back),
            "equal by content, not by where it lives"
        );
        assert_eq!(s.into_owned().replicas, 7);
    }

    #[test]
    fn a_borrowed_service_is_a_pointer() {
        assert!(std::mem::size_of::<InPhase<'_>>() <= 2 * std::mem::size_of::<usize>());
    }
}
