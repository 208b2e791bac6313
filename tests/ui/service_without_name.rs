use escala::prelude::*;

fn main() {
    let _web = Service::builder().image("nginx:1.27").build();
}
